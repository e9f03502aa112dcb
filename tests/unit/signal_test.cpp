#include "upstream/signal.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>

namespace relay::upstream {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A wait as the relay's coroutines make it (as_tuple(use_awaitable)), with when it ended.
struct Outcome {
  std::optional<error_code> ec;
  Clock::duration after{};
};

asio::awaitable<void> wait_on(Signal& s, Clock::time_point expiry, Outcome& out) {
  const auto start = Clock::now();
  s.expires_at(expiry);
  auto [ec] = co_await s.async_wait(asio::as_tuple(asio::use_awaitable));
  out.ec = ec;
  out.after = Clock::now() - start;
}

class SignalTest : public ::testing::Test {
 protected:
  void after(milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<asio::steady_timer>(io, d);
    t->async_wait([t, f = std::move(f)](error_code ec) {
      if (!ec) f();
    });
  }
  // Runs until `o` has its result, or 5 s.
  void run_until(const Outcome& o) {
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (!o.ec && Clock::now() < give_up) {
      if (io.stopped()) io.restart();  // it stops whenever it runs out of work
      io.run_one_for(milliseconds(50));
    }
  }
  asio::io_context io;
};

TEST_F(SignalTest, AWakeUpEndsTheWaitAsACancelledTimersWait) {
  Signal s(io);
  Outcome o;
  asio::co_spawn(io, wait_on(s, Clock::now() + std::chrono::seconds(30), o), asio::detached);
  after(milliseconds(20), [&] { s.cancel(); });
  run_until(o);
  ASSERT_TRUE(o.ec);
  EXPECT_EQ(*o.ec, asio::error::operation_aborted);
  EXPECT_LT(o.after, std::chrono::seconds(5));
}

TEST_F(SignalTest, TheWaitEndsWithoutErrorWhenItsExpiryPasses) {
  Signal s(io);
  Outcome o;
  asio::co_spawn(io, wait_on(s, Clock::now() + milliseconds(40), o), asio::detached);
  run_until(o);
  ASSERT_TRUE(o.ec);
  EXPECT_FALSE(*o.ec) << o.ec->message();
  EXPECT_GE(o.after, milliseconds(35));
}

// A wake-up with nobody waiting is not kept for the next wait (a timer's cancel is not either;
// the relay looks at the transfer's state before it waits).
TEST_F(SignalTest, AWakeUpWithNobodyWaitingDoesNotEndTheNextWait) {
  Signal s(io);
  s.cancel();
  Outcome o;
  asio::co_spawn(io, wait_on(s, Clock::now() + milliseconds(60), o), asio::detached);
  run_until(o);
  ASSERT_TRUE(o.ec);
  EXPECT_FALSE(*o.ec) << o.ec->message();
  EXPECT_GE(o.after, milliseconds(55));
}

// The first wait leaves the timer waiting for its expiry; a second wait with a later expiry
// must not end at the first one's (the timer fires, finds the expiry moved and waits again),
// and one with an earlier expiry must not wait for the first one's.
TEST_F(SignalTest, EachWaitEndsAtItsOwnExpiryWhateverTheTimerWasWaitingFor) {
  Signal s(io);
  Outcome first;
  asio::co_spawn(io, wait_on(s, Clock::now() + milliseconds(50), first), asio::detached);
  after(milliseconds(10), [&] { s.cancel(); });
  run_until(first);
  ASSERT_EQ(first.ec, asio::error::operation_aborted);

  Outcome later;
  asio::co_spawn(io, wait_on(s, Clock::now() + milliseconds(400), later), asio::detached);
  run_until(later);
  ASSERT_TRUE(later.ec);
  EXPECT_FALSE(*later.ec);
  EXPECT_GE(later.after, milliseconds(390));

  Outcome far;
  asio::co_spawn(io, wait_on(s, Clock::now() + std::chrono::seconds(60), far), asio::detached);
  after(milliseconds(10), [&] { s.cancel(); });
  run_until(far);
  ASSERT_EQ(far.ec, asio::error::operation_aborted);
  Outcome sooner;
  asio::co_spawn(io, wait_on(s, Clock::now() + milliseconds(30), sooner), asio::detached);
  run_until(sooner);
  ASSERT_TRUE(sooner.ec);
  EXPECT_FALSE(*sooner.ec);
  EXPECT_LT(sooner.after, std::chrono::seconds(5));
}

TEST_F(SignalTest, WithoutAnExpiryOnlyAWakeUpEndsTheWait) {
  Signal s(io);
  Outcome o;
  asio::co_spawn(io, wait_on(s, Clock::time_point::max(), o), asio::detached);
  io.run_for(milliseconds(100));
  EXPECT_FALSE(o.ec);  // nothing but the wake-up can end it
  s.cancel();
  run_until(o);
  ASSERT_TRUE(o.ec);
  EXPECT_EQ(*o.ec, asio::error::operation_aborted);
}

// A transfer's state may go while nobody waits, or (a cancelled request) while its relay
// coroutine waits: the waiter then ends as a destroyed timer's would.
TEST_F(SignalTest, DestroyingTheSignalEndsItsWait) {
  auto s = std::make_unique<Signal>(io);
  Outcome o;
  asio::co_spawn(io, wait_on(*s, Clock::now() + milliseconds(30), o), asio::detached);
  io.run_for(milliseconds(5));
  s.reset();
  run_until(o);
  ASSERT_TRUE(o.ec);
  EXPECT_EQ(*o.ec, asio::error::operation_aborted);
  io.run_for(milliseconds(60));  // the timer's cancelled wait, under the sanitizers
}

}  // namespace
}  // namespace relay::upstream
