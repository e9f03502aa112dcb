#include "http/deadline.hpp"

namespace relay::http {

Deadline::Deadline(boost::asio::ip::tcp::socket& sock) : state_(std::make_shared<State>(sock)) {}

// The pending wait holds the state (and so the timer) until it completes: cancelled here, it
// completes soon with operation_aborted and touches nothing.
Deadline::~Deadline() {
  state_->sock = nullptr;
  state_->armed = false;
  ++state_->wait_gen;
  state_->timer.cancel();
}

void Deadline::arm(std::chrono::milliseconds d) {
  State& s = *state_;
  s.fired = false;
  s.armed = true;
  s.expiry = State::Clock::now() + d;
  // A wait that ends at or before the new expiry will find it later and wait again.
  if (!s.waiting || s.waiting_until > s.expiry) s.wait_until(s.expiry);
}

void Deadline::State::wait_until(Clock::time_point at) {
  waiting = true;
  waiting_until = at;
  const std::uint64_t gen = ++wait_gen;
  timer.expires_at(at);  // cancels the earlier wait, if any: its completion carries an old gen
  timer.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (gen != self->wait_gen) return;
    self->waiting = false;
    if (ec || !self->armed || self->sock == nullptr) return;
    if (Clock::now() < self->expiry) {
      self->wait_until(self->expiry);
      return;
    }
    self->armed = false;
    self->fired = true;
    boost::system::error_code ignored;
    self->sock->cancel(ignored);
  });
}

}  // namespace relay::http
