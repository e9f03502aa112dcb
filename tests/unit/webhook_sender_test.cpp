// WebhookSender against a tiny HTTP server on 127.0.0.1 that answers from a script.
#include "app/webhook_sender.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>

namespace relay::app {
namespace {

using namespace std::chrono_literals;

// Polls `done` until it holds or 20 s pass (a bound for a hung sender, not a timing check).
template <class F>
bool wait_until(F done) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

class TinyServer {
 public:
  enum class Reply { k200, k400, k500, kClose, kHold };  // kHold: answer nothing until stopped
  struct Seen {
    std::string method, target, content_type, body;
  };

  // The n-th request gets script[n]; the last entry repeats.
  explicit TinyServer(std::vector<Reply> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("test server: cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  TinyServer(const TinyServer&) = delete;
  TinyServer& operator=(const TinyServer&) = delete;

  int port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  // What arrived once at least n requests have (or after 20 s).
  std::vector<Seen> wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 20s, [&] { return seen_.size() >= n; });
    return seen_;
  }

 private:
  void run() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      serve(c);
      ::close(c);
    }
  }

  void serve(int c) {
    std::string in;
    char buf[4096];
    std::size_t head_end = std::string::npos;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
    Seen s;
    std::istringstream head(in.substr(0, head_end));
    std::string line, version;
    std::getline(head, line);
    std::istringstream(line) >> s.method >> s.target >> version;
    std::size_t length = 0;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon), value = line.substr(colon + 1);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      value.erase(0, value.find_first_not_of(' '));
      if (name == "content-type") s.content_type = value;
      if (name == "content-length") length = std::stoul(value);
    }
    s.body = in.substr(head_end + 4);
    while (s.body.size() < length) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      s.body.append(buf, static_cast<std::size_t>(n));
    }
    std::unique_lock lock(mu_);
    const Reply r = script_.at(std::min(seen_.size(), script_.size() - 1));
    seen_.push_back(std::move(s));
    cv_.notify_all();
    if (r == Reply::kHold) cv_.wait(lock, [this] { return stopping_; });
    lock.unlock();
    const char* status = r == Reply::k200   ? "200 OK"
                         : r == Reply::k400 ? "400 Bad Request"
                                            : "500 Internal Server Error";
    if (r == Reply::kClose || r == Reply::kHold) return;
    const std::string reply =
        std::string("HTTP/1.1 ") + status + "\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
    ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  std::vector<Reply> script_;
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
  bool stopping_ = false;
  std::thread thread_;
};

using R = TinyServer::Reply;
constexpr auto kTimeout = 5000ms;
const std::string kEvent = R"({"event":"quota_threshold","tenant":"team-a","threshold":80})";

std::string url_of(const TinyServer& s) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + "/hook?token=abc";
}

TEST(WebhookSender, PostsTheEventAsJson) {
  TinyServer server({R::k200});
  WebhookSender sender(url_of(server), kTimeout);
  sender.post(kEvent);
  ASSERT_TRUE(wait_until([&] { return sender.stats().delivered == 1; }));
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/hook?token=abc");
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(seen[0].body, kEvent);
  EXPECT_EQ(sender.stats().failed, 0u);
  std::string out;
  sender.render_metrics(out);
  EXPECT_NE(out.find("# TYPE codex_relay_webhook_deliveries_total counter\n"), std::string::npos);
  EXPECT_NE(out.find("codex_relay_webhook_deliveries_total{result=\"delivered\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("codex_relay_webhook_deliveries_total{result=\"failed\"} 0\n"),
            std::string::npos);
  EXPECT_NE(out.find("codex_relay_webhook_deliveries_total{result=\"dropped\"} 0\n"),
            std::string::npos);
}

TEST(WebhookSender, RetriesA500AndAClosedConnection) {
  TinyServer server({R::k500, R::kClose, R::k200});
  WebhookSender sender(url_of(server), kTimeout);
  sender.post(kEvent);
  ASSERT_TRUE(wait_until([&] { return sender.stats().delivered == 1; }));
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& s : seen) EXPECT_EQ(s.body, kEvent);
  EXPECT_EQ(sender.stats().failed, 0u);
}

TEST(WebhookSender, A400IsNotRetried) {
  TinyServer server({R::k400, R::k200});
  WebhookSender sender(url_of(server), kTimeout);
  sender.post(kEvent);
  ASSERT_TRUE(wait_until([&] { return sender.stats().failed == 1; }));
  EXPECT_EQ(server.seen().size(), 1u);
  EXPECT_EQ(sender.stats().delivered, 0u);
  // The next event is a new one, with tries of its own.
  sender.post(kEvent);
  ASSERT_TRUE(wait_until([&] { return sender.stats().delivered == 1; }));
}

// A port nothing listens on: bound, then closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot find a free port");
  return ntohs(a.sin_port);
}

TEST(WebhookSender, AnUnreachableReceiverCountsFailedAndTheLogHidesTheSecrets) {
  std::ostringstream log;
  auto old = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  {
    WebhookSender sender("http://alice:PASSWORD@127.0.0.1:" + std::to_string(closed_port()) +
                             "/hook/PATHSECRET?token=QUERYSECRET",
                         kTimeout);
    sender.post(kEvent);
    ASSERT_TRUE(wait_until([&] { return sender.stats().failed == 1; }));
    EXPECT_EQ(sender.stats().delivered, 0u);
  }
  spdlog::set_default_logger(old);
  const std::string text = log.str();
  EXPECT_NE(text.find("quota alert webhook to http://127.0.0.1: not delivered after 3 tries"),
            std::string::npos)
      << text;
  for (const char* secret : {"alice", "PASSWORD", "PATHSECRET", "QUERYSECRET", "/hook"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
}

TEST(WebhookSender, DestructionWhileARetryIsPendingReturns) {
  TinyServer server({R::k500});
  auto sender = std::make_unique<WebhookSender>(url_of(server), kTimeout);
  sender->post(kEvent);
  ASSERT_EQ(server.wait_for(1).size(), 1u);
  sender.reset();  // the first retry is (most likely) still waiting out its 1 s
}

TEST(WebhookSender, AFullQueueDropsNewEventsAndDestructionMidTryReturns) {
  TinyServer server({R::kHold});
  auto sender = std::make_unique<WebhookSender>(url_of(server), 60s);
  sender->post(kEvent);
  ASSERT_EQ(server.wait_for(1).size(), 1u);  // taken off the queue; its try hangs
  for (std::size_t i = 0; i < WebhookSender::kMaxQueued + 3; ++i) sender->post(kEvent);
  EXPECT_EQ(sender->stats().dropped, 3u);
  std::string out;
  sender->render_metrics(out);
  EXPECT_NE(out.find("codex_relay_webhook_deliveries_total{result=\"dropped\"} 3\n"),
            std::string::npos);
  sender.reset();
}

TEST(WebhookLogName, KeepsOnlySchemeAndHost) {
  EXPECT_EQ(webhook_log_name("https://user:pw@hooks.example.com:8443/x?token=y"),
            "https://hooks.example.com");
  EXPECT_EQ(webhook_log_name("http://127.0.0.1:9/hook?token=SECRET"), "http://127.0.0.1");
  EXPECT_EQ(webhook_log_name("http://[::1]:80/a"), "http://[::1]");
  EXPECT_EQ(webhook_log_name("https://h.example?x=1"), "https://h.example");
  EXPECT_EQ(webhook_log_name("https://h.example#frag"), "https://h.example");
  EXPECT_EQ(webhook_log_name("http://a@b@c.example/x"), "http://c.example");
  EXPECT_EQ(webhook_log_name("no url at all"), "(not a url)");
}

}  // namespace
}  // namespace relay::app
