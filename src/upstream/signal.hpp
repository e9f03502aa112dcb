#pragma once
// How a transfer wakes the coroutine that relays it: a wait that ends when the transfer has news
// (cancel(): the wait ends with operation_aborted, as a cancelled timer's does) or when its
// expiry passes (no error). It replaces a steady_timer, whose every wait was a timer-queue
// insertion and every wake-up a removal, once per event of a stream, on a heap of one entry per
// open stream. Here a wait only stores the waiter, a wake-up posts it, and the expiry is kept
// by a LazyTimer (src/http/lazy_timer.hpp), which moves its asio timer only now and then.
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include "http/lazy_timer.hpp"

namespace relay::upstream {

class Signal {
 public:
  using Clock = std::chrono::steady_clock;
  // The waiting handler, type-erased. Not asio::any_completion_handler: in Boost 1.81 its
  // converting constructor takes an lvalue of its own type and wraps it again, without end.
  struct Waiter {
    virtual ~Waiter() = default;
    virtual void call(boost::system::error_code ec) = 0;
  };
  using Handler = std::unique_ptr<Waiter>;

  explicit Signal(boost::asio::io_context& io);
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  // For the next wait: it ends at `at` unless woken before. One waiter at a time.
  void expires_at(Clock::time_point at);
  template <typename Token>
  auto async_wait(Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler) {
          using H = decltype(handler);
          struct Held final : Waiter {
            explicit Held(H h) : h(std::move(h)) {}
            void call(boost::system::error_code ec) override { std::move(h)(ec); }
            H h;
          };
          start(std::make_unique<Held>(std::move(handler)));
        },
        token);
  }
  // Wakes the waiter, if there is one. The waiter resumes through the io_context given, which
  // must be the one it runs on.
  void cancel();

 private:
  void start(Handler handler);
  // Hands the waiter, if any, its result through the io_context's queue, as a timer would.
  void complete(boost::system::error_code ec);

  boost::asio::io_context& io_;
  Handler waiter_;
  Clock::time_point expiry_ = Clock::time_point::max();
  http::LazyTimer timer_;  // last: it goes first, so its callback never sees the others gone
};

}  // namespace relay::upstream
