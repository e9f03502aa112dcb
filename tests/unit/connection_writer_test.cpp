#include "http/connection_writer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

namespace relay::http {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A ConnectionWriter over the server end of a loopback connection; the test reads the client
// end, so what it sees is exactly what a client would.
class ConnectionWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    stream = std::make_unique<Stream>(acceptor.accept(), nullptr);
    writer = std::make_unique<ConnectionWriter>(*stream, limits, /*keep_alive=*/true,
                                                /*http10=*/false);
  }

  // Runs one coroutine on the writer to its end. Not io.run(): a write that had to wait leaves
  // the writer's deadline timer waiting (until its time or the writer's end), by design.
  template <typename F>
  void run(F body) {
    auto done = asio::co_spawn(io, body(*writer, client), asio::use_future);
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) io.run_one();
    done.get();
  }

  // Everything the client has received once the server end is closed.
  std::string received() {
    writer.reset();
    stream.reset();
    std::string all;
    boost::system::error_code ec;
    asio::read(client, asio::dynamic_buffer(all), ec);
    return all;
  }

  static ResponseHead head(std::optional<std::size_t> length) {
    ResponseHead h;
    h.headers.push_back({"content-type", "application/json"});
    h.content_length = length;
    return h;
  }

  asio::io_context io;
  tcp::socket client{io};
  SessionLimits limits;
  std::unique_ptr<Stream> stream;
  std::unique_ptr<ConnectionWriter> writer;
};

TEST_F(ConnectionWriterTest, HeldHeadGoesOutBeforeTheBody) {
  run([](ConnectionWriter& w, tcp::socket& client) -> asio::awaitable<void> {
    w.hold_head(head(2));
    EXPECT_TRUE(w.head_sent());
    EXPECT_TRUE(w.head_held());
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable);
    EXPECT_EQ(client.available(), 0u);  // held: nothing written yet
    EXPECT_TRUE(co_await w.send_body("{}"));
    EXPECT_FALSE(w.head_held());
    EXPECT_TRUE(co_await w.finish());
  });
  EXPECT_EQ(received(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
}

TEST_F(ConnectionWriterTest, HeldHeadOfAChunkedBodyPrecedesTheFirstChunk) {
  run([](ConnectionWriter& w, tcp::socket&) -> asio::awaitable<void> {
    w.hold_head(head(std::nullopt));
    EXPECT_TRUE(co_await w.send_body("data: 1\n\n"));
    EXPECT_TRUE(co_await w.finish());
  });
  EXPECT_EQ(received(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n"
            "\r\n9\r\ndata: 1\n\n\r\n0\r\n\r\n");
}

// Chunk sizes in lower-case hex, without leading zeros, of one and of several digits.
TEST_F(ConnectionWriterTest, ChunkSizesAreHex) {
  run([](ConnectionWriter& w, tcp::socket&) -> asio::awaitable<void> {
    w.hold_head(head(std::nullopt));
    EXPECT_TRUE(co_await w.send_body(std::string(16, 'a')));
    EXPECT_TRUE(co_await w.send_body(std::string(0x1abc, 'b')));
    EXPECT_TRUE(co_await w.send_body("c"));
    EXPECT_TRUE(co_await w.finish());
  });
  EXPECT_EQ(received(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n"
            "\r\n10\r\n" +
                std::string(16, 'a') + "\r\n1abc\r\n" + std::string(0x1abc, 'b') +
                "\r\n1\r\nc\r\n0\r\n\r\n");
}

TEST_F(ConnectionWriterTest, FlushAndFinishWriteAHeldHeadWithNoBody) {
  run([](ConnectionWriter& w, tcp::socket&) -> asio::awaitable<void> {
    w.hold_head(head(0));
    EXPECT_TRUE(co_await w.send_body(""));  // nothing to send: still writes the head
    EXPECT_FALSE(w.head_held());
    EXPECT_TRUE(co_await w.flush());  // nothing held: writes nothing
    EXPECT_TRUE(co_await w.finish());
  });
  EXPECT_EQ(received(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n");
}

TEST_F(ConnectionWriterTest, FinishWritesAHeldHead) {
  run([](ConnectionWriter& w, tcp::socket&) -> asio::awaitable<void> {
    w.hold_head(head(0));
    EXPECT_TRUE(co_await w.finish());
    EXPECT_TRUE(w.reusable());
  });
  EXPECT_EQ(received(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n");
}

TEST_F(ConnectionWriterTest, AbortDropsAHeldHead) {
  run([](ConnectionWriter& w, tcp::socket&) -> asio::awaitable<void> {
    w.hold_head(head(5));
    w.abort();
    EXPECT_FALSE(w.head_held());
    EXPECT_FALSE(co_await w.send_body("hello"));
    co_return;
  });
  EXPECT_EQ(received(), "");
}

// The phases of one response share one watch of the socket: a phase that stops watching lets
// go of its callback, and the next phase's callback gets a hang-up, including one that came in
// between, when nobody listened.
TEST_F(ConnectionWriterTest, AHangUpBetweenPhasesReachesTheNextPhase) {
  run([](ConnectionWriter& w, tcp::socket& client) -> asio::awaitable<void> {
    int first = 0;
    int second = 0;
    w.watch_disconnect([&first] { ++first; });
    w.stop_watching();
    client.close();
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
    EXPECT_EQ(first, 0);  // its phase is over: never called
    w.watch_disconnect([&second] { ++second; });
    EXPECT_EQ(second, 1);  // told at once
    w.stop_watching();
  });
}

TEST_F(ConnectionWriterTest, TheNextPhaseTakesOverALiveWatch) {
  run([](ConnectionWriter& w, tcp::socket& client) -> asio::awaitable<void> {
    int first = 0;
    int second = 0;
    w.watch_disconnect([&first] { ++first; });
    w.stop_watching();
    w.watch_disconnect([&second] { ++second; });
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable);
    EXPECT_EQ(second, 0);  // the client is still there
    client.close();
    pause.expires_after(std::chrono::milliseconds(50));
    co_await pause.async_wait(asio::use_awaitable);
    EXPECT_EQ(first, 0);
    EXPECT_EQ(second, 1);
    w.stop_watching();
  });
}

// A plain connection's write goes out at once when the socket takes it; a body larger than the
// socket's buffers takes the rest through the awaited write, in order, once the client reads.
TEST_F(ConnectionWriterTest, ABodyTheSocketCannotTakeAtOnceArrivesWhole) {
  std::string body(8u << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  const std::string head_bytes = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n" +
                                 std::string("content-length: ") + std::to_string(body.size()) +
                                 "\r\n\r\n";
  std::string got;
  bool all_read = false;
  run([&](ConnectionWriter& w, tcp::socket& client) -> asio::awaitable<void> {
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [](tcp::socket& c, std::string& into, std::size_t n, bool& done) -> asio::awaitable<void> {
          into.resize(n);
          co_await asio::async_read(c, asio::buffer(into), asio::use_awaitable);
          done = true;
        }(client, got, head_bytes.size() + body.size(), all_read),
        asio::detached);
    w.hold_head(head(body.size()));
    EXPECT_TRUE(co_await w.send_body(body));
    EXPECT_TRUE(co_await w.finish());
  });
  while (!all_read) io.run_one();
  ASSERT_EQ(got.size(), head_bytes.size() + body.size());
  EXPECT_EQ(got.substr(0, head_bytes.size()), head_bytes);
  EXPECT_TRUE(got.compare(head_bytes.size(), body.size(), body) == 0);
}

// A client that reset the connection: the write says so, and the response is not reusable.
TEST_F(ConnectionWriterTest, AWriteToAResetConnectionFails) {
  run([](ConnectionWriter& w, tcp::socket& client) -> asio::awaitable<void> {
    client.set_option(asio::socket_base::linger(true, 0));  // close with RST
    client.close();
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable);
    w.hold_head(head(std::nullopt));
    EXPECT_FALSE(co_await w.send_body("data: x\n\n"));
    EXPECT_FALSE(co_await w.finish());
  });
  EXPECT_FALSE(writer->reusable());
}

}  // namespace
}  // namespace relay::http
