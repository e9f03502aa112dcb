// The upstream client (src/upstream/) against scripted servers on loopback: plain sockets and
// OpenSSL in a thread of the test, so each test says byte by byte what the upstream sends.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "upstream/client.hpp"
#include "upstream/transfer.hpp"

namespace relay::upstream {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// One accepted connection, plain or TLS, blocking.
struct Peer {
  int fd = -1;
  SSL* ssl = nullptr;
  bool send(std::string_view s) const {
    if (ssl)
      return SSL_write(ssl, s.data(), static_cast<int>(s.size())) == static_cast<int>(s.size());
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Some bytes; "" at the end of the stream.
  std::string recv_some() const {
    char buf[4096];
    long n = ssl ? SSL_read(ssl, buf, sizeof buf) : ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  // Exactly n bytes (fewer only if the peer closed first).
  std::string recv_exact(std::size_t n) const {
    std::string in;
    while (in.size() < n) {
      char buf[512];
      long got = ::recv(fd, buf, std::min(sizeof buf, n - in.size()), 0);
      if (got <= 0) break;
      in.append(buf, static_cast<std::size_t>(got));
    }
    return in;
  }
  // A request head and its Content-Length body; "" if the peer closed first.
  std::string recv_request() const {
    std::string in;
    for (;;) {
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        if (auto p = in.find("content-length: "); p != std::string::npos && p < end)
          length = std::strtoul(in.c_str() + p + 16, nullptr, 10);
        if (in.size() >= end + 4 + length) return in;
      }
      std::string more = recv_some();
      if (more.empty()) return {};
      in += more;
    }
  }
};

// Accepts connections on 127.0.0.1 and runs `script` for each, each on a thread of its own (a
// connection the client keeps in its pool must not hold up the next one).
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(Peer&)> script, SSL_CTX* tls = nullptr)
      : script_(std::move(script)), tls_(tls) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { loop(); });
  }
  // Ends the scripts too: a connection the client keeps open is shut down under its script.
  ~ScriptedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int c : open_) ::shutdown(c, SHUT_RDWR);
    }
    for (auto& t : scripts_) t.join();
    for (int c : open_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }
  std::string url(std::string_view path = "/v1/test") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

 private:
  void loop() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      std::lock_guard lock(mutex_);
      open_.push_back(c);
      scripts_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    Peer p{c, nullptr};
    if (tls_) {
      p.ssl = SSL_new(tls_);
      SSL_set_fd(p.ssl, c);
      if (SSL_accept(p.ssl) != 1) {
        SSL_free(p.ssl);
        p.ssl = nullptr;
        ERR_clear_error();
        return;  // closed by the destructor
      }
    }
    script_(p);
    if (p.ssl) {
      SSL_shutdown(p.ssl);
      SSL_free(p.ssl);
    }
    ::shutdown(c, SHUT_RDWR);  // the fd stays open until the destructor: no reuse under it
  }
  std::function<void(Peer&)> script_;
  SSL_CTX* tls_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<int> open_;
  std::vector<std::thread> scripts_;
  std::thread acceptor_;
};

class UpstreamTransferTest : public ::testing::Test {
 protected:
  // OpenSSL's writes in the scripted servers are plain write()s: a client that has gone would
  // end the test binary with SIGPIPE.
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
  UpstreamRequest request(const std::string& url, const std::string& body = "{\"x\":1}") {
    body_ = body;
    UpstreamRequest r;
    r.method = "POST";
    r.url = url;
    r.headers = {{"content-type", "application/json"}, {"authorization", "Bearer sk-test"}};
    r.body = &body_;
    return r;
  }
  // Runs the io_context until `until` holds (or 10 s pass).
  void run_until(const std::function<bool()>& until) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!until() && std::chrono::steady_clock::now() < give_up) {
      io.run_one_for(20ms);
      if (io.stopped()) io.restart();
    }
  }
  // The whole body of a transfer, taken as it comes.
  std::string drain(Transfer& t) {
    std::string all;
    run_until([&] {
      all += t.take_body();
      return t.done() && !t.has_body();
    });
    return all;
  }

  boost::asio::io_context io;
  Client client{io};
  TransferOptions options;
  std::string body_;
};

TEST_F(UpstreamTransferTest, SendsTheRequestAndKeepsTheConnectionForTheNext) {
  std::atomic<int> requests{0};
  std::string first;
  ScriptedServer server([&](Peer& p) {
    for (;;) {
      std::string req = p.recv_request();
      if (req.empty()) return;
      if (requests++ == 0) first = req;
      p.send("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
    }
  });
  for (int i = 0; i < 3; ++i) {
    Transfer t(client, request(server.url("/v1/responses?x=1")), options);
    t.start();
    EXPECT_EQ(drain(t), "{}");
    EXPECT_FALSE(t.failed()) << t.error_text();
    EXPECT_EQ(t.status(), 200);
    EXPECT_EQ(t.content_length(), 2u);
    ASSERT_NE(http::find_header(t.headers(), "content-type"), nullptr);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(requests, 3);
  EXPECT_EQ(first.substr(0, first.find("\r\n")), "POST /v1/responses?x=1 HTTP/1.1");
  EXPECT_NE(first.find("\r\nhost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(first.find("\r\ncontent-length: 7\r\n\r\n{\"x\":1}"), std::string::npos);
  EXPECT_EQ(first.find("expect"), std::string::npos);
}

// A request body larger than the socket's buffers: the part the socket takes at once, then the
// rest awaited, in order (TcpStream::write_all).
TEST_F(UpstreamTransferTest, ARequestLargerThanTheSocketBuffersArrivesWhole) {
  std::string big(8u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 19);
  std::string got;
  ScriptedServer server([&](Peer& p) {
    std::this_thread::sleep_for(100ms);  // the relay fills the socket before anyone reads
    got = p.recv_request();
    p.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  });
  Transfer t(client, request(server.url(), big), options);
  t.start();
  EXPECT_EQ(drain(t), "ok");
  EXPECT_FALSE(t.failed()) << t.error_text();
  const auto body_at = got.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_EQ(got.size() - body_at - 4, big.size());
  EXPECT_TRUE(got.compare(body_at + 4, big.size(), big) == 0);
}

TEST_F(UpstreamTransferTest, DechunksAStreamWhateverTheReadsCutIt) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
      "a\r\ndata: one\n\r\nb\r\n\ndata: two\n\r\n0\r\n\r\n";
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    for (char c : wire) {  // a byte per segment
      p.send(std::string(1, c));
      std::this_thread::sleep_for(100us);
    }
    p.recv_some();
  });
  Transfer t(client, request(server.url()), options);
  t.start();
  EXPECT_EQ(drain(t), "data: one\n\ndata: two\n");
  EXPECT_FALSE(t.failed()) << t.error_text();
  EXPECT_EQ(t.content_length(), std::nullopt);
  EXPECT_EQ(client.idle_count(), 1u);  // a chunked body ends with its last chunk: reusable
}

TEST_F(UpstreamTransferTest, StopsReadingWhileTheQueueIsFull) {
  std::string payload;
  for (int i = 0; i < 200'000; ++i) payload += static_cast<char>('a' + i % 26);
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 200 OK\r\ncontent-length: " + std::to_string(payload.size()) + "\r\n\r\n");
    p.send(payload);
    p.recv_some();
  });
  options.buffer_bytes = 4096;
  Transfer t(client, request(server.url()), options);
  t.start();
  run_until([&] { return t.paused(); });
  ASSERT_TRUE(t.paused()) << "never stopped reading";
  // While paused it reads nothing more: the queue stays as it was.
  const std::string queued = t.take_body();
  EXPECT_GE(queued.size(), 4096u);
  EXPECT_LT(queued.size(), payload.size());
  std::string all = queued + drain(t);
  EXPECT_EQ(all, payload);
  EXPECT_FALSE(t.failed()) << t.error_text();
}

TEST_F(UpstreamTransferTest, CancelClosesTheConnectionAtOnce) {
  std::atomic<bool> saw_close{false};
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n");
    saw_close = p.recv_some().empty();
  });
  auto t = std::make_unique<Transfer>(client, request(server.url()), options);
  t->start();
  run_until([&] { return t->headers_ready(); });
  ASSERT_TRUE(t->headers_ready());
  t->cancel();
  EXPECT_TRUE(t->done());
  EXPECT_TRUE(t->cancelled());
  EXPECT_FALSE(t->failed());
  t.reset();  // the exchange's coroutine may still be winding down: it must not need `t`
  run_until([&] { return saw_close.load(); });
  EXPECT_TRUE(saw_close);
  EXPECT_EQ(client.idle_count(), 0u);
}

TEST_F(UpstreamTransferTest, AConnectionThePeerClosedIsNotUsedAgain) {
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    // and closes, without having said so
  });
  {
    Transfer t(client, request(server.url()), options);
    t.start();
    EXPECT_EQ(drain(t), "ok");
  }
  run_until([&] { return client.idle_count() == 0; });
  EXPECT_EQ(client.idle_count(), 0u) << "the closed connection was kept";
  Transfer t(client, request(server.url()), options);
  t.start();
  EXPECT_EQ(drain(t), "ok");
  EXPECT_FALSE(t.failed()) << t.error_text();
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(UpstreamTransferTest, ABodyWithoutALengthEndsWithTheClose) {
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil ");
    p.send("the close");
  });
  Transfer t(client, request(server.url()), options);
  t.start();
  EXPECT_EQ(drain(t), "until the close");
  EXPECT_FALSE(t.failed()) << t.error_text();
  EXPECT_EQ(client.idle_count(), 0u);
}

TEST_F(UpstreamTransferTest, ACutBodyIsAFailure) {
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..");
  });
  Transfer t(client, request(server.url()), options);
  t.start();
  EXPECT_EQ(drain(t), "only ten..");
  EXPECT_TRUE(t.failed());
  EXPECT_NE(t.error_text().find("before the response was complete"), std::string::npos)
      << t.error_text();
}

TEST_F(UpstreamTransferTest, AMalformedResponseIsAFailure) {
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 2x0 OK\r\n\r\n");
    p.recv_some();
  });
  Transfer t(client, request(server.url()), options);
  t.start();
  drain(t);
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.headers_ready());
  EXPECT_NE(t.error_text().find("malformed"), std::string::npos) << t.error_text();
}

TEST_F(UpstreamTransferTest, AnInterimResponseIsPassedOver) {
  ScriptedServer server([&](Peer& p) {
    if (p.recv_request().empty()) return;
    p.send(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nx-a: 1\r\ncontent-length: "
        "4\r\n\r\ndone");
    p.recv_some();
  });
  Transfer t(client, request(server.url()), options);
  t.start();
  EXPECT_EQ(drain(t), "done");
  EXPECT_EQ(t.status(), 201);
  EXPECT_NE(http::find_header(t.headers(), "x-a"), nullptr);
}

TEST_F(UpstreamTransferTest, NothingListeningFailsAndSaysWhere) {
  int port = 0;
  {
    ScriptedServer gone([](Peer&) {});
    port = gone.port();
  }
  Transfer t(client, request("http://127.0.0.1:" + std::to_string(port) + "/v1/x"), options);
  t.start();
  run_until([&] { return t.done(); });
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.timed_out());
  EXPECT_NE(t.error_text().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << t.error_text();
}

TEST_F(UpstreamTransferTest, AnInvalidUrlFailsWithoutAConnection) {
  Transfer t(client, request("ftp://127.0.0.1/x"), options);
  t.start();
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.failed());
}

TEST_F(UpstreamTransferTest, AHeaderValueWithALineBreakIsNeverSent) {
  ScriptedServer server([&](Peer&) {});
  auto r = request(server.url());
  r.headers.push_back({"x-codex-a", "a\r\nx-injected: 1"});
  Transfer t(client, r, options);
  t.start();
  EXPECT_TRUE(t.failed());
  EXPECT_EQ(server.accepted(), 0);
}

// A plain-HTTP proxy that grants CONNECT (checking the credentials) and then speaks as the
// upstream itself, inside the tunnel.
TEST_F(UpstreamTransferTest, TunnelsThroughAnHttpProxyWithItsCredentials) {
  std::string connect_head;
  std::string tunnelled;
  ScriptedServer proxy([&](Peer& p) {
    connect_head = p.recv_request();
    if (connect_head.find("Proxy-Authorization: Basic dXNlcjpwQHNz") == std::string::npos) {
      p.send("HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    p.send("HTTP/1.1 200 Connection established\r\n\r\n");
    tunnelled = p.recv_request();
    p.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    p.recv_some();
  });
  auto r = request("http://api.example.test:8443/v1/responses");
  r.proxy = "http://user:p%40ss@127.0.0.1:" + std::to_string(proxy.port());
  {
    Transfer t(client, r, options);
    t.start();
    EXPECT_EQ(drain(t), "ok");
    EXPECT_FALSE(t.failed()) << t.error_text();
  }
  EXPECT_EQ(connect_head.substr(0, connect_head.find("\r\n")),
            "CONNECT api.example.test:8443 HTTP/1.1");
  EXPECT_EQ(tunnelled.substr(0, tunnelled.find("\r\n")), "POST /v1/responses HTTP/1.1");
  EXPECT_NE(tunnelled.find("\r\nhost: api.example.test:8443\r\n"), std::string::npos);
  EXPECT_EQ(tunnelled.find("Proxy-Authorization"), std::string::npos);

  r.proxy = "http://user:wrong@127.0.0.1:" + std::to_string(proxy.port());
  Transfer refused(client, r, options);
  refused.start();
  run_until([&] { return refused.done(); });
  EXPECT_TRUE(refused.failed());
  EXPECT_NE(refused.error_text().find("407"), std::string::npos) << refused.error_text();
  EXPECT_EQ(refused.error_text().find("wrong"), std::string::npos) << refused.error_text();
}

// A SOCKS5 proxy with a user and password (RFC 1928/1929) that then speaks as the upstream
// inside the tunnel; the provider's name goes to the proxy as a name, never resolved here.
TEST_F(UpstreamTransferTest, TunnelsThroughSocks5WithTheNameAndCredentials) {
  std::string greeting, auth, connect;
  ScriptedServer proxy([&](Peer& p) {
    greeting = p.recv_exact(4);  // 05 02 00 02: no auth, or user/password
    p.send(std::string("\x05\x02", 2));
    auth = p.recv_exact(2 + 4 + 1 + 4);  // 01, "user", "p@ss"
    p.send(std::string("\x01\x00", 2));
    connect = p.recv_exact(4 + 1 + 16 + 2);  // 05 01 00 03, len, a 16-byte name, port
    if (connect.find("refuse.example.t") != std::string::npos) {
      p.send(std::string("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10));  // REP 5
      return;
    }
    p.send(std::string("\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00", 10));
    if (p.recv_request().empty()) return;
    p.send("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    p.recv_some();
  });
  auto r = request("http://api.example.test:8443/v1/responses");
  r.proxy = "socks5h://user:p%40ss@127.0.0.1:" + std::to_string(proxy.port());
  {
    Transfer t(client, r, options);
    t.start();
    EXPECT_EQ(drain(t), "ok");
    EXPECT_FALSE(t.failed()) << t.error_text();
  }
  EXPECT_EQ(greeting, std::string("\x05\x02\x00\x02", 4));
  EXPECT_EQ(auth, std::string("\x01\x04user\x04p@ss", 11));
  EXPECT_EQ(connect, std::string("\x05\x01\x00\x03\x10", 5) + "api.example.test" +
                         std::string("\x20\xfb", 2));  // 8443

  auto refused_req = request("http://refuse.example.t:443/v1/x");
  refused_req.proxy = r.proxy;
  Transfer refused(client, refused_req, options);
  refused.start();
  run_until([&] { return refused.done(); });
  EXPECT_TRUE(refused.failed());
  EXPECT_NE(refused.error_text().find("connection refused (5)"), std::string::npos)
      << refused.error_text();
  EXPECT_EQ(refused.error_text().find("p@ss"), std::string::npos) << refused.error_text();
}

// TLS to the upstream: a certificate for IP 127.0.0.1 from a CA of the test's own.
class UpstreamTlsTest : public UpstreamTransferTest {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("upstream_tls_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    for (const char* name : {"good", "other"}) {
      std::string cmd =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
          "-subj /CN=test -addext subjectAltName=IP:127.0.0.1 -keyout " +
          path(name) + ".key -out " + path(name) + ".pem 2>/dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    ctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate_chain_file(ctx_, (path("good") + ".pem").c_str()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, (path("good") + ".key").c_str(), SSL_FILETYPE_PEM),
              1);
  }
  void TearDown() override {
    SSL_CTX_free(ctx_);
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  SSL_CTX* ctx_ = nullptr;
};

TEST_F(UpstreamTlsTest, VerifiesTheUpstreamAgainstTheAccountsCaFile) {
  ScriptedServer server(
      [&](Peer& p) {
        if (p.recv_request().empty()) return;
        p.send("HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret");
        p.recv_some();
      },
      ctx_);
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/v1/x";
  auto r = request(url);
  r.ca_file = path("good") + ".pem";
  {
    Transfer t(client, r, options);
    t.start();
    EXPECT_EQ(drain(t), "secret");
    EXPECT_FALSE(t.failed()) << t.error_text();
  }
  r.ca_file = path("other") + ".pem";
  Transfer t(client, r, options);
  t.start();
  run_until([&] { return t.done(); });
  EXPECT_TRUE(t.failed());
  EXPECT_FALSE(t.headers_ready());
  EXPECT_NE(t.error_text().find("certificate"), std::string::npos) << t.error_text();
}

TEST_F(UpstreamTlsTest, AHandshakeThatNeverCompletesTimesOut) {
  std::atomic<bool> stop{false};
  ScriptedServer server([&](Peer& p) {  // plain TCP: accepts, reads the ClientHello, says nothing
    p.recv_some();
    while (!stop) std::this_thread::sleep_for(5ms);
  });
  auto r = request("https://127.0.0.1:" + std::to_string(server.port()) + "/v1/x");
  r.ca_file = path("good") + ".pem";
  options.connect_timeout_ms = 200;
  Transfer t(client, r, options);
  t.start();
  run_until([&] { return t.done(); });
  stop = true;
  EXPECT_TRUE(t.failed());
  EXPECT_TRUE(t.timed_out());
  EXPECT_NE(t.error_text().find("200 ms"), std::string::npos) << t.error_text();
}

}  // namespace
}  // namespace relay::upstream
