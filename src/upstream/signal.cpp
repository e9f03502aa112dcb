#include "upstream/signal.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>

namespace relay::upstream {

using boost::system::error_code;

struct Signal::Impl : std::enable_shared_from_this<Signal::Impl> {
  explicit Impl(boost::asio::io_context& io) : io(io), timer(io) {}

  // Hands the waiter its result through the io_context's queue, as a timer's completion comes.
  void complete(error_code ec) {
    if (!waiter) return;
    boost::asio::post(io, [w = std::move(waiter), ec] { w->call(ec); });
  }

  void wait_until(Clock::time_point at) {
    waiting = true;
    waiting_until = at;
    const std::uint64_t gen = ++wait_gen;
    timer.expires_at(at);  // ends the earlier wait, if any: its completion has an old gen
    timer.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (gen != self->wait_gen) return;
      self->waiting = false;
      if (ec || !self->waiter) return;
      if (Clock::now() < self->expiry) {
        self->wait_until(self->expiry);
        return;
      }
      self->complete({});
    });
  }

  boost::asio::io_context& io;
  boost::asio::steady_timer timer;
  Handler waiter;
  Clock::time_point expiry = Clock::time_point::max();
  Clock::time_point waiting_until;  // of the timer's wait, when `waiting`
  std::uint64_t wait_gen = 0;       // a wait superseded by a later one ignores its completion
  bool waiting = false;
};

Signal::Signal(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}

// The waiter, if any, ends as a destroyed timer's would; the timer's own wait completes soon
// with operation_aborted and holds the state until then.
Signal::~Signal() {
  impl_->complete(boost::asio::error::operation_aborted);
  ++impl_->wait_gen;
  impl_->timer.cancel();
}

void Signal::expires_at(Clock::time_point at) {
  impl_->expiry = at;
}

void Signal::cancel() {
  impl_->complete(boost::asio::error::operation_aborted);
}

void Signal::start(Handler handler) {
  Impl& s = *impl_;
  s.complete(boost::asio::error::operation_aborted);  // one waiter: an earlier one ends
  s.waiter = std::move(handler);
  if (s.expiry == Clock::time_point::max()) return;  // no expiry: only a wake-up ends it
  if (Clock::now() >= s.expiry) {
    s.complete({});
    return;
  }
  // A wait that ends at or before the expiry will find it later and wait again.
  if (!s.waiting || s.waiting_until > s.expiry) s.wait_until(s.expiry);
}

}  // namespace relay::upstream
