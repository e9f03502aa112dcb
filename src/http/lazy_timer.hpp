#pragma once
// A timer for deadlines that move far more often than they pass: arming and disarming only
// store a time; the one asio timer waits until the earliest moment the deadline may be due and,
// when it fires and finds the deadline moved on, waits again for the rest (nginx keeps its
// timers the same way). Only a deadline earlier than the pending wait moves the asio timer. A
// connection's Deadline and a transfer's Signal use it: each moved a steady_timer's wait (a
// timer-queue insertion, a removal and a completion) several times per request or per event.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace relay::http {

class LazyTimer {
 public:
  using Clock = std::chrono::steady_clock;

  // on_due runs on the executor once an armed time has passed, then the timer is disarmed.
  LazyTimer(const boost::asio::any_io_executor& ex, std::function<void()> on_due);
  ~LazyTimer();  // on_due is not called after this
  LazyTimer(const LazyTimer&) = delete;
  LazyTimer& operator=(const LazyTimer&) = delete;

  void arm(Clock::time_point at);
  void disarm();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the pending wait, which may outlive this
};

}  // namespace relay::http
