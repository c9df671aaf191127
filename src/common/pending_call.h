#pragma once
// PendingCall: a handle on an asynchronous operation in flight (a CRI call
// that waits for a grace period, an image pull...). Whoever started the
// operation gets its outcome through a callback; the handle only lets another
// party ask it to end early.

namespace zp {

class PendingCall {
 public:
  virtual ~PendingCall() = default;
  // Asks the operation to end as soon as it can; its callback then reports
  // Code::kCancelled (or the real outcome, if that came first). Thread-safe,
  // idempotent, and harmless after completion.
  virtual void cancel() = 0;
};

}  // namespace zp
