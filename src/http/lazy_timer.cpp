#include "http/lazy_timer.hpp"

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <utility>

namespace relay::http {

struct LazyTimer::Impl : std::enable_shared_from_this<LazyTimer::Impl> {
  Impl(const boost::asio::any_io_executor& ex, std::function<void()> f)
      : timer(ex), on_due(std::move(f)) {}

  void wait_until(Clock::time_point at) {
    waiting = true;
    waiting_until = at;
    const std::uint64_t gen = ++wait_gen;
    timer.expires_at(at);  // ends the earlier wait, if any: its completion has an old gen
    timer.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
      if (gen != self->wait_gen) return;
      self->waiting = false;
      if (ec || !self->armed || !self->on_due) return;
      if (Clock::now() < self->expiry) {
        self->wait_until(self->expiry);
        return;
      }
      self->armed = false;
      self->on_due();
    });
  }

  boost::asio::steady_timer timer;
  std::function<void()> on_due;
  Clock::time_point expiry;
  Clock::time_point waiting_until;  // of the timer's wait, when `waiting`
  std::uint64_t wait_gen = 0;       // a wait superseded by a later one ignores its completion
  bool waiting = false;
  bool armed = false;
};

LazyTimer::LazyTimer(const boost::asio::any_io_executor& ex, std::function<void()> on_due)
    : impl_(std::make_shared<Impl>(ex, std::move(on_due))) {}

// The pending wait keeps the state until it completes, cancelled here with operation_aborted.
LazyTimer::~LazyTimer() {
  impl_->on_due = nullptr;
  impl_->armed = false;
  ++impl_->wait_gen;
  impl_->timer.cancel();
}

void LazyTimer::arm(Clock::time_point at) {
  Impl& s = *impl_;
  s.armed = true;
  s.expiry = at;
  // A wait that ends at or before the new time will find it later and wait again.
  if (!s.waiting || s.waiting_until > at) s.wait_until(at);
}

void LazyTimer::disarm() {
  impl_->armed = false;
}

}  // namespace relay::http
