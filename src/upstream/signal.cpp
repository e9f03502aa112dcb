#include "upstream/signal.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace relay::upstream {

using boost::system::error_code;

Signal::Signal(boost::asio::io_context& io)
    : io_(io), timer_(io.get_executor(), [this] { complete({}); }) {}

// The waiter, if any, ends as a destroyed timer's would.
Signal::~Signal() {
  complete(boost::asio::error::operation_aborted);
}

void Signal::expires_at(Clock::time_point at) {
  expiry_ = at;
}

void Signal::cancel() {
  complete(boost::asio::error::operation_aborted);
}

void Signal::complete(error_code ec) {
  if (!waiter_) return;
  timer_.disarm();
  boost::asio::post(io_, [w = std::move(waiter_), ec] { w->call(ec); });
}

void Signal::start(Handler handler) {
  complete(boost::asio::error::operation_aborted);  // one waiter: an earlier one ends
  waiter_ = std::move(handler);
  if (expiry_ == Clock::time_point::max()) return;  // no expiry: only a wake-up ends it
  if (Clock::now() >= expiry_) {
    complete({});
    return;
  }
  timer_.arm(expiry_);
}

}  // namespace relay::upstream
