#include "http/deadline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <optional>

namespace relay::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

// A deadline on the server end of a loopback connection; the test writes from the client end.
// Callbacks rather than coroutines: the deadline knows nothing of either.
class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    server = acceptor.accept();
  }

  // One read on the server end; its result lands in `read_ec` and `read_n`.
  void start_read() {
    read_ec.reset();
    server.async_read_some(asio::buffer(buf), [this](error_code ec, std::size_t n) {
      read_ec = ec;
      read_n = n;
    });
  }

  // Runs `f` after `d`, on the io thread.
  void after(milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<asio::steady_timer>(io, d);
    t->async_wait([t, f = std::move(f)](error_code ec) {
      if (!ec) f();
    });
  }

  void client_sends_a_byte() { asio::write(client, asio::buffer("x", 1)); }

  // Runs until the read has its result (or 5 s pass: a deadline that never fired).
  void run_until_read() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!read_ec && std::chrono::steady_clock::now() < give_up) io.run_one_for(milliseconds(50));
  }

  asio::io_context io;
  tcp::socket client{io};
  tcp::socket server{io};
  char buf[16] = {};
  std::optional<error_code> read_ec;
  std::size_t read_n = 0;
};

TEST_F(DeadlineTest, AnArmedDeadlineThatPassesCancelsThePendingRead) {
  Deadline d(server);
  d.arm(milliseconds(30));
  start_read();
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_EQ(*read_ec, asio::error::operation_aborted);
  EXPECT_TRUE(d.fired());
  EXPECT_TRUE(server.is_open());  // cancelled, not closed: a 408 can still be written
}

// The timer's wait outlives the disarm (it is not cancelled); when it fires it must do nothing.
TEST_F(DeadlineTest, ADisarmedDeadlineCancelsNothingWhenItsTimeComes) {
  Deadline d(server);
  d.arm(milliseconds(20));
  d.disarm();
  start_read();
  after(milliseconds(150), [this] { client_sends_a_byte(); });
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_FALSE(*read_ec) << read_ec->message();
  EXPECT_EQ(read_n, 1u);
  EXPECT_FALSE(d.fired());
}

// Armed again for longer before the first time came: the timer fires at the first time, finds
// the deadline moved and waits for the rest; the read completes in between. Then a short
// deadline on the same connection still fires.
TEST_F(DeadlineTest, ALaterArmMovesTheDeadlineOutAndTheNextArmStillFires) {
  Deadline d(server);
  d.arm(milliseconds(40));
  start_read();
  after(milliseconds(10), [&d] { d.arm(milliseconds(1500)); });
  after(milliseconds(150), [this] { client_sends_a_byte(); });
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_FALSE(*read_ec) << read_ec->message();
  EXPECT_FALSE(d.fired());

  d.arm(milliseconds(30));
  start_read();
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_EQ(*read_ec, asio::error::operation_aborted);
  EXPECT_TRUE(d.fired());
}

// The timer waits for the far deadline; an earlier one must move it in, or the read would wait
// the full 60 s.
TEST_F(DeadlineTest, AnEarlierArmMovesTheTimerIn) {
  Deadline d(server);
  d.arm(milliseconds(60'000));
  d.arm(milliseconds(30));
  start_read();
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_EQ(*read_ec, asio::error::operation_aborted);
  EXPECT_TRUE(d.fired());
}

// A deadline destroyed while its timer waits (a connection that ends) leaves the socket alone.
TEST_F(DeadlineTest, ADeadlineDestroyedWhileItsTimerWaitsTouchesNothing) {
  {
    Deadline d(server);
    d.arm(milliseconds(20));
  }
  start_read();
  after(milliseconds(100), [this] { client_sends_a_byte(); });
  run_until_read();
  ASSERT_TRUE(read_ec);
  EXPECT_FALSE(*read_ec) << read_ec->message();
  io.run_for(milliseconds(50));  // the cancelled wait's completion, under the sanitizers
}

}  // namespace
}  // namespace relay::http
