package org.iscsicsi.target.transfer;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.Optional;
import java.util.function.Supplier;
import org.iscsicsi.target.registry.RegistryException;
import org.iscsicsi.target.v1.CancelTransferRequest;
import org.iscsicsi.target.v1.GetTransferRequest;
import org.iscsicsi.target.v1.StartTransferRequest;
import org.iscsicsi.target.v1.TargetTransferGrpc;
import org.iscsicsi.target.v1.Transfer;

/**
 * The {@code target.v1.TargetTransfer} gRPC service on the admin API: starts, reads and cancels
 * the transfers this engine sends. Without replication settings (no TLS key material to dial
 * another engine with) every call is FAILED_PRECONDITION.
 */
public final class TransferAdminService extends TargetTransferGrpc.TargetTransferImplBase {

  private final Transfers transfers;

  /** @param transfers null when the engine has no replication settings */
  TransferAdminService(Transfers transfers) {
    this.transfers = transfers;
  }

  @Override
  public void startTransfer(StartTransferRequest req, StreamObserver<Transfer> out) {
    call(out, () -> enabled().start(req));
  }

  @Override
  public void getTransfer(GetTransferRequest req, StreamObserver<Transfer> out) {
    call(out, () -> found(req.getId(), enabled().get(req.getId())));
  }

  @Override
  public void cancelTransfer(CancelTransferRequest req, StreamObserver<Transfer> out) {
    call(out, () -> found(req.getId(), enabled().cancel(req.getId())));
  }

  private Transfers enabled() {
    if (transfers == null) {
      throw Status.FAILED_PRECONDITION.withDescription("this engine has no replication TLS "
          + "settings (serve --replication-tls-*), so it cannot send transfers")
          .asRuntimeException();
    }
    return transfers;
  }

  private static Transfer found(String id, Optional<Transfer> t) {
    return t.orElseThrow(() -> Status.NOT_FOUND.withDescription("transfer " + id
        + " is not known to this engine (transfers are forgotten at restart)")
        .asRuntimeException());
  }

  private static <T> void call(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RegistryException e) {
      out.onError(org.iscsicsi.target.admin.TargetAdminService.status(e));
      return;
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
