// bench_mock_provider: a deliberately cheap stand-in for the OpenAI API, so that bench/run.sh
// measures the proxies in front of it rather than the upstream. It shares a core with the load
// client, hence single-threaded epoll, every response rendered once at start-up and sent from
// static memory (an iovec queue per connection), and no allocation once buffers have grown.
//
// Usage: bench_mock_provider --listen 127.0.0.1:PORT [--events 200] [--slow-events 20]
//                            [--slow-interval-ms 1000]
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "ascii.hpp"

namespace {

constexpr size_t kMaxHead = 64 * 1024;
constexpr uint64_t kMaxBody = 64u << 20;
// Input that waits behind a slow stream (pipelining) is buffered, but not without bound.
constexpr size_t kMaxPending = 1u << 20;

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// printf into a std::string; only used at start-up.
[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...) {
  va_list ap, again;
  va_start(ap, f);
  va_copy(again, ap);
  std::string s(size_t(vsnprintf(nullptr, 0, f, ap)), '\0');
  vsnprintf(s.data(), s.size() + 1, f, again);
  va_end(again);
  va_end(ap);
  return s;
}

// A response in both connection modes, so that answering never formats anything.
struct Canned {
  std::string keep, close;
  const std::string& get(bool closing) const { return closing ? close : keep; }
};

Canned respond(const char* status, const char* type, const std::string& framing,
               const std::string& body) {
  std::string h = fmt(
      "HTTP/1.1 %s\r\nContent-Type: %s\r\n%sx-request-id: req_bench\r\nopenai-processing-ms: 1\r\n",
      status, type, framing.c_str());
  return {h + "\r\n" + body, h + "Connection: close\r\n\r\n" + body};
}

Canned json(const char* status, const std::string& body) {
  return respond(status, "application/json", fmt("Content-Length: %zu\r\n", body.size()), body);
}

// The events of a Responses API stream, as printf templates.
constexpr char kCreated[] =
    "event: response.created\ndata: "
    R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_bench",)"
    R"("object":"response","status":"in_progress","model":"%s"}})";
constexpr char kDelta[] =
    "event: response.output_text.delta\ndata: "
    R"({"type":"response.output_text.delta","sequence_number":%d,"item_id":"msg_bench",)"
    R"("output_index":0,"content_index":0,"delta":"tok "})";
constexpr char kCompleted[] =
    "event: response.completed\ndata: "
    R"({"type":"response.completed","sequence_number":%d,"response":{"id":"resp_bench",)"
    R"("object":"response","status":"completed","model":"%s","usage":{"input_tokens":12,)"
    R"("input_tokens_details":{"cached_tokens":0},"output_tokens":%d,)"
    R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":%d}}})";

// One HTTP chunk per event, as a provider that flushes per event; the last also ends the body.
std::vector<std::string> sse_chunks(const char* model, int events) {
  std::vector<std::string> out;
  auto chunk = [&](const std::string& e) {
    out.push_back(fmt("%zx\r\n", e.size() + 2) + e + "\n\n\r\n");
  };
  chunk(fmt(kCreated, model));
  for (int n = 1; n < events - 1; ++n) chunk(fmt(kDelta, n));
  chunk(fmt(kCompleted, events - 1, model, events - 2, events + 10));
  out.back() += "0\r\n\r\n";
  return out;
}

struct Responses {
  Canned models, small, sse, slow_first, not_found, bad_request, too_large, head_too_large;
  std::vector<std::string> slow;  // slow[i] is event i; slow[0] is inside slow_first
  std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
} R;

void build_responses(int events, int slow_events) {
  auto model = [](const char* id) {
    return fmt(R"({"id":"%s","object":"model","created":1700000000,"owned_by":"bench"})", id);
  };
  R.models = json("200 OK", R"({"object":"list","data":[)" + model("bench-small") + "," +
                                model("bench-sse") + "," + model("bench-slow") + "]}");
  R.small = json("200 OK",
                 R"({"id":"chatcmpl-bench","object":"chat.completion",)"
                 R"("created":1700000000,"model":"bench-small","choices":[{"index":0,"message":)"
                 R"({"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":)"
                 R"({"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}})");
  const char* sse_framing = "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n";
  std::string all;
  for (const std::string& c : sse_chunks("bench-sse", events)) all += c;
  R.sse = respond("200 OK", "text/event-stream", sse_framing, all);
  R.slow = sse_chunks("bench-slow", slow_events);
  R.slow_first = respond("200 OK", "text/event-stream", sse_framing, R.slow[0]);
  auto error = [](const char* status, const char* message, const char* code) {
    return json(status, fmt(R"({"error":{"message":"%s","type":"invalid_request_error",)"
                            R"("param":null,"code":"%s"}})",
                            message, code));
  };
  R.not_found = error("404 Not Found",
                      "The bench mock serves GET /v1/models and POST /v1/chat/completions or "
                      "/v1/responses with model bench-small, bench-sse or bench-slow",
                      "model_not_found");
  R.bad_request = error("400 Bad Request", "Malformed HTTP request", "bad_request");
  R.too_large = error("413 Payload Too Large", "Request body too large", "body_too_large");
  R.head_too_large = error("431 Request Header Fields Too Large", "Request headers too large",
                           "headers_too_large");
}

// The value of the first `"model" : "..."` in the body: a substring scan, not a JSON parse.
std::string_view find_model(std::string_view b) {
  auto skip = [&](size_t i) {
    while (i < b.size() && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
    return i;
  };
  for (size_t pos = b.find("\"model\""); pos != b.npos; pos = b.find("\"model\"", pos + 7)) {
    size_t i = skip(pos + 7);
    if (i >= b.size() || b[i] != ':') continue;
    i = skip(i + 1);
    if (i >= b.size() || b[i] != '"') continue;
    size_t end = b.find('"', i + 1);
    return end == b.npos ? std::string_view() : b.substr(i + 1, end - i - 1);
  }
  return {};
}

enum class St : uint8_t { Head, Body, ChunkSize, ChunkExt, ChunkData, ChunkEnd, Trailer };
enum class Route : uint8_t { NotFound, Models, Completion };

struct Conn {
  int fd = -1;
  uint32_t gen = 0;  // bumped on close: stale epoll events and timers carry the old value
  St st = St::Head;
  Route route = Route::NotFound;
  bool keep_alive = true;
  bool closing = false;  // a Connection: close answer is queued; close once it is written
  bool digits = false;   // the chunk-size line had a hex digit
  int slow_next = 0;     // next event of a running slow stream; 0 = none
  size_t scan = 0;       // where the search for the end of the head resumes
  uint64_t need = 0;     // bytes left of a Content-Length body or of the current chunk
  size_t line = 0;       // length of the current trailer line
  std::string pending;   // unparsed input carried over to the next read
  std::string body;      // decoded request body
  std::vector<iovec> out;
  size_t out_head = 0;
};

struct Timer {
  int64_t at;
  int fd;
  uint32_t gen;
  bool operator>(const Timer& o) const { return at > o.at; }
};

int g_slow_events = 20;
int64_t g_slow_interval_ns = 1'000'000'000;
int g_epoll = -1;
std::vector<std::unique_ptr<Conn>> g_conns;  // by fd
std::priority_queue<Timer, std::vector<Timer>, std::greater<>> g_timers;
char g_rbuf[256 * 1024];

void queue(Conn& c, const std::string& s) {
  c.out.push_back({const_cast<char*>(s.data()), s.size()});
}

void close_conn(Conn& c) {
  close(c.fd);
  c.fd = -1;
  ++c.gen;
  c.st = St::Head;
  c.keep_alive = true;
  c.closing = false;
  c.slow_next = 0;
  c.scan = 0;
  c.pending.clear();
  c.body.clear();
  c.out.clear();
  c.out_head = 0;
}

// Writes what is queued; returns false if the connection got closed.
bool flush(Conn& c) {
  while (c.out_head < c.out.size()) {
    int n = int(std::min<size_t>(c.out.size() - c.out_head, 64));
    ssize_t w = writev(c.fd, &c.out[c.out_head], n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;  // EPOLLOUT (edge-triggered) resumes
      close_conn(c);
      return false;
    }
    for (size_t left = size_t(w); left > 0;) {
      iovec& v = c.out[c.out_head];
      if (left < v.iov_len) {
        v.iov_base = static_cast<char*>(v.iov_base) + left;
        v.iov_len -= left;
        break;
      }
      left -= v.iov_len;
      ++c.out_head;
    }
  }
  c.out.clear();
  c.out_head = 0;
  if (c.closing && c.slow_next == 0) {
    close_conn(c);
    return false;
  }
  return true;
}

void fail(Conn& c, const Canned& r) {
  queue(c, r.close);
  c.closing = true;
}

void finish_request(Conn& c) {
  const Canned* r = &R.not_found;
  bool slow = false;
  if (c.route == Route::Models) {
    r = &R.models;
  } else if (c.route == Route::Completion) {
    std::string_view m = find_model(c.body);
    if (m == "bench-small") r = &R.small;
    if (m == "bench-sse") r = &R.sse;
    if (m == "bench-slow") {
      r = &R.slow_first;
      slow = true;
    }
  }
  queue(c, r->get(!c.keep_alive));
  c.closing = !c.keep_alive;
  c.st = St::Head;
  c.body.clear();
  if (slow) {
    c.slow_next = 1;
    g_timers.push({now_ns() + g_slow_interval_ns, c.fd, c.gen});
  }
}

// Reads the request line and headers; false if they are malformed or the body too large.
bool parse_head(Conn& c, std::string_view h) {
  size_t eol = h.find("\r\n");
  std::string_view line = h.substr(0, eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == line.npos || sp2 <= sp1 + 1) return false;
  std::string_view method = line.substr(0, sp1), version = line.substr(sp2 + 1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  path = path.substr(0, path.find('?'));
  if (!version.starts_with("HTTP/1.")) return false;
  c.keep_alive = version != "HTTP/1.0";
  // Suffixes, not exact paths: proxies differ in the base URL they prepend (/v1 or not).
  c.route = Route::NotFound;
  if (method == "GET" && path.ends_with("/models")) c.route = Route::Models;
  if (method == "POST" && (path.ends_with("/chat/completions") || path.ends_with("/responses")))
    c.route = Route::Completion;
  bool chunked = false, expect = false;
  uint64_t length = 0;
  for (size_t pos = eol + 2; pos < h.size();) {
    size_t end = h.find("\r\n", pos);
    std::string_view l = h.substr(pos, end - pos);
    pos = end + 2;
    if (l.empty()) break;
    size_t colon = l.find(':');
    if (colon == l.npos) return false;
    std::string_view name = l.substr(0, colon), value = l.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (iequals(name, "content-length")) {
      if (value.empty()) return false;
      for (char ch : value) {
        if (ch == ' ' || ch == '\t') break;
        if (ch < '0' || ch > '9' || length > kMaxBody) return false;
        length = length * 10 + uint64_t(ch - '0');
      }
    } else if (iequals(name, "transfer-encoding")) {
      chunked = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) c.keep_alive = false;
      if (icontains(value, "keep-alive")) c.keep_alive = true;
    } else if (iequals(name, "expect")) {
      expect = icontains(value, "100-continue");
    }
  }
  if (length > kMaxBody) {
    fail(c, R.too_large);
    return true;
  }
  if (expect && (chunked || length > 0)) queue(c, R.cont);
  c.need = chunked ? 0 : length;
  c.digits = false;
  c.st = chunked ? St::ChunkSize : St::Body;
  if (!chunked && length == 0) finish_request(c);
  return true;
}

int hex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = lower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

// Consumes requests from d[0, n); returns how much it used. It stops at an answer that closes
// the connection and during a slow stream, because answers must leave in request order.
size_t parse(Conn& c, const char* d, size_t n) {
  size_t i = 0;
  while (i < n && !c.closing && c.slow_next == 0) {
    switch (c.st) {
      case St::Head: {
        std::string_view s(d + i, n - i);
        size_t end = s.find("\r\n\r\n", c.scan > 3 ? c.scan - 3 : 0);
        if (end == s.npos || end + 4 > kMaxHead) {
          if (s.size() > kMaxHead) return fail(c, R.head_too_large), n;
          c.scan = s.size();
          return i;
        }
        c.scan = 0;
        i += end + 4;
        if (!parse_head(c, s.substr(0, end + 4))) return fail(c, R.bad_request), n;
        break;
      }
      case St::Body:
      case St::ChunkData: {
        size_t take = size_t(std::min<uint64_t>(c.need, n - i));
        c.body.append(d + i, take);
        i += take;
        c.need -= take;
        if (c.need > 0) break;
        if (c.st == St::Body) finish_request(c);
        if (c.st == St::ChunkData) c.st = St::ChunkEnd;
        break;
      }
      case St::ChunkSize: {
        char ch = d[i++];
        int v = hex(ch);
        if (v >= 0) {
          c.need = c.need * 16 + uint64_t(v);
          c.digits = true;
          if (c.body.size() + c.need > kMaxBody) return fail(c, R.too_large), n;
        } else if (!c.digits || (ch != ';' && ch != ' ' && ch != '\t' && ch != '\r')) {
          return fail(c, R.bad_request), n;
        } else {
          c.st = St::ChunkExt;
          --i;  // let ChunkExt see a '\r' or ';' too
        }
        break;
      }
      case St::ChunkExt:
      case St::ChunkEnd: {
        const void* nl = memchr(d + i, '\n', n - i);
        if (nl == nullptr) return n;
        i = size_t(static_cast<const char*>(nl) - d) + 1;
        if (c.st == St::ChunkEnd) {
          c.st = St::ChunkSize;
        } else {
          c.digits = false;
          c.line = 0;
          c.st = c.need == 0 ? St::Trailer : St::ChunkData;
        }
        break;
      }
      case St::Trailer: {
        char ch = d[i++];
        if (ch == '\n') {
          if (c.line == 0) finish_request(c);
          c.line = 0;
        } else if (ch != '\r') {
          ++c.line;
        }
        break;
      }
    }
  }
  return i;
}

void resume(Conn& c) {
  size_t used = parse(c, c.pending.data(), c.pending.size());
  c.pending.erase(0, used);
}

// Returns false if the connection got closed.
bool on_readable(Conn& c) {
  for (;;) {
    ssize_t r = read(c.fd, g_rbuf, sizeof g_rbuf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return true;
    if (r <= 0) {  // a client that hangs up (even half-way) is gone, and its stream with it
      close_conn(c);
      return false;
    }
    if (!c.closing) {
      if (c.pending.empty()) {  // the usual case: whole requests in one read, parsed in place
        size_t used = parse(c, g_rbuf, size_t(r));
        c.pending.assign(g_rbuf + used, size_t(r) - used);
      } else {
        c.pending.append(g_rbuf, size_t(r));
        resume(c);
      }
      if (c.pending.size() > kMaxPending + kMaxHead) {
        close_conn(c);
        return false;
      }
    }
    if (!flush(c)) return false;
    // Edge-triggered: a short read means the socket was drained, so no extra read for EAGAIN.
    if (size_t(r) < sizeof g_rbuf) return true;
  }
}

void fire_timers() {
  const int64_t now = now_ns();
  while (!g_timers.empty() && g_timers.top().at <= now) {
    Timer t = g_timers.top();
    g_timers.pop();
    Conn* c = g_conns[size_t(t.fd)].get();
    if (c == nullptr || c->gen != t.gen || c->fd < 0 || c->slow_next == 0) continue;
    queue(*c, R.slow[size_t(c->slow_next)]);
    if (++c->slow_next == g_slow_events) {
      c->slow_next = 0;
      resume(*c);  // requests pipelined behind the stream
    } else {
      g_timers.push({t.at + g_slow_interval_ns, t.fd, t.gen});  // no drift
    }
    flush(*c);
  }
}

void accept_all(int lfd) {
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) perror("accept4");
      return;
    }
    if (size_t(fd) >= g_conns.size()) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto& c = g_conns[size_t(fd)];
    if (!c) c = std::make_unique<Conn>();
    c->fd = fd;
    // Edge-triggered with both directions registered once: no epoll_ctl per response.
    epoll_event ev{EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, {}};
    ev.data.u64 = uint64_t(c->gen) << 32 | uint32_t(fd);
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
  }
}

int listen_on(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == addr.npos) return -1;
  std::string host = addr.substr(0, colon), port = addr.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *ai = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0) return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // The kernel caps the backlog at net.core.somaxconn; ask for the most it allows.
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 65535) != 0) {
    perror("bind/listen");
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  return fd;
}

[[noreturn]] void usage() {
  fprintf(stderr,
          "usage: bench_mock_provider --listen HOST:PORT [--events 200] [--slow-events 20] "
          "[--slow-interval-ms 1000]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen_addr;
  long events = 200, slow_events = 20, slow_ms = 1000;
  for (int i = 1; i < argc; i += 2) {
    std::string_view a = argv[i];
    long* number = a == "--events"             ? &events
                   : a == "--slow-events"      ? &slow_events
                   : a == "--slow-interval-ms" ? &slow_ms
                                               : nullptr;
    if (i + 1 >= argc || (number == nullptr && a != "--listen")) usage();
    if (number != nullptr) *number = atol(argv[i + 1]);
    if (number == nullptr) listen_addr = argv[i + 1];
  }
  // Two events are the least a stream has: response.created and response.completed.
  if (listen_addr.empty() || events < 2 || slow_events < 2 || slow_ms < 0) usage();
  g_slow_events = int(slow_events);
  g_slow_interval_ns = slow_ms * 1'000'000;
  build_responses(int(events), g_slow_events);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  g_conns.resize(std::min<rlim_t>(rl.rlim_cur, 1 << 20));
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);

  const int lfd = listen_on(listen_addr);
  if (lfd < 0) {
    fprintf(stderr, "cannot listen on %s\n", listen_addr.c_str());
    return 1;
  }
  g_epoll = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {lfd, sfd}) {
    epoll_event ev{EPOLLIN, {}};
    ev.data.u64 = uint32_t(fd);
    epoll_ctl(g_epoll, EPOLL_CTL_ADD, fd, &ev);
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len);
  // Both families keep the port at the same offset; with --listen HOST:0 this is the real one.
  printf("listening on %s:%d\n", listen_addr.substr(0, listen_addr.rfind(':')).c_str(),
         ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  fflush(stdout);

  std::vector<epoll_event> ready(1024);
  for (;;) {
    int timeout = -1;
    if (!g_timers.empty()) {
      int64_t wait = g_timers.top().at - now_ns();
      timeout = wait <= 0 ? 0 : int((wait + 999'999) / 1'000'000);
    }
    int n = epoll_wait(g_epoll, ready.data(), int(ready.size()), timeout);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) {
      const uint64_t data = ready[size_t(k)].data.u64;
      const uint32_t ev = ready[size_t(k)].events;
      const int fd = int(uint32_t(data));
      if (fd == lfd) {
        accept_all(lfd);
        continue;
      }
      if (fd == sfd) {
        close(lfd);
        return 0;
      }
      Conn* c = g_conns[size_t(fd)].get();
      if (c == nullptr || c->fd < 0 || c->gen != uint32_t(data >> 32)) continue;
      if (ev & EPOLLERR) {
        close_conn(*c);
        continue;
      }
      if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !on_readable(*c)) continue;
      if ((ev & EPOLLOUT) && c->out_head < c->out.size()) flush(*c);
    }
    fire_timers();
  }
}
