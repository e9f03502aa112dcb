// bench_loadgen: the load client of bench/run.sh. It measures what wrk does not: time to first
// body byte (for SSE, the first event), the number of SSE events per response, and thousands of
// concurrent long streams opened at a bounded rate. It shares a core with the mock provider, so
// it is single-threaded epoll, sends one prebuilt request, and keeps per-response work to a
// memchr over the body.
//
// Usage: bench_loadgen --target HOST:PORT --path PATH [--body JSON] [--header 'Name: value']...
//          --connections N (--duration SEC [--warmup SEC] | --once) [--expect-events K]
//          [--ramp PER_SEC] [--timeout SEC]
// Without --body it sends GET. Prints one line of JSON on stdout.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ascii.hpp"

namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

enum Err { kStatus, kReset, kEvents, kTimeout, kConnect, kErrKinds };
enum class CSt : uint8_t { Idle, Connecting, Writing, Reading, Done };
enum class RSt : uint8_t { Head, Body, ToClose, ChunkSize, ChunkExt, ChunkData, ChunkEnd, Trailer };

struct Conn {
  int fd = -1;
  uint32_t gen = 0;  // bumped on close: events already fetched for the old socket are ignored
  CSt st = CSt::Idle;
  RSt rst = RSt::Head;
  bool close = false;      // the server ends the connection after this response
  bool body_seen = false;  // TTFB is taken
  bool digits = false;     // the chunk-size line had a hex digit
  int status = 0;
  int lp = 0;  // bytes of "data:" matched at the start of the current line; -1: not a data line
  uint32_t events = 0;
  size_t wpos = 0, line = 0;
  uint64_t need = 0;
  int64_t t_start = 0;  // timeouts run from here: the connect, then each request's send
  int64_t t_send = 0, t_first = 0, retry_at = 0;
  std::string head;  // only used when a response head is split across reads
};

struct Options {
  std::string target, path = "/", body;
  std::vector<std::string> headers;
  // Numbers as doubles so that one table parses them all; -1: not given.
  double connections = 1, expect_events = -1, duration = -1, warmup = 0, ramp = 2000, timeout = 120;
  bool once = false;
} O;

std::string g_req;
sockaddr_storage g_addr{};
socklen_t g_addr_len = 0;
int g_epoll = -1;
std::vector<Conn> g_conns;
int64_t g_measure_from = 0, g_last_done = 0;
int g_done = 0;  // --once: connections that finished, well or not
unsigned long long g_completed = 0, g_events_total = 0, g_err[kErrKinds] = {};  // for printf
std::vector<uint32_t> g_ttfb, g_latency;
char g_rbuf[256 * 1024];

void start_conn(Conn& c);
bool send_request(Conn& c);

void count_error(Err kind, int64_t now) {
  if (now >= g_measure_from) ++g_err[kind];
}

void drop_fd(Conn& c) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  ++c.gen;
}

// A request ended (well or not): --once retires the connection, the closed loop goes on.
void finish(Conn& c, bool reuse, int64_t now) {
  if (O.once) {
    drop_fd(c);
    c.st = CSt::Done;
    ++g_done;
    g_last_done = now;
  } else if (reuse) {
    send_request(c);
  } else {
    drop_fd(c);
    start_conn(c);
  }
}

void broken(Conn& c, Err kind, int64_t now) {
  count_error(kind, now);
  if (kind == kConnect && !O.once) {  // retry later rather than spin on a refusing target
    drop_fd(c);
    c.st = CSt::Idle;
    c.retry_at = now + 100'000'000;
    return;
  }
  finish(c, false, now);
}

void complete(Conn& c, int64_t now) {
  if (!c.body_seen) c.t_first = now;
  if (now >= g_measure_from) {
    if (c.status != 200) {
      ++g_err[kStatus];
    } else if (O.expect_events >= 0 && c.events != uint64_t(O.expect_events)) {
      ++g_err[kEvents];
    } else {
      ++g_completed;
      g_events_total += c.events;
      g_ttfb.push_back(uint32_t((c.t_first - c.t_send) / 1000));
      g_latency.push_back(uint32_t((now - c.t_send) / 1000));
    }
  }
  finish(c, !c.close, now);
}

void start_conn(Conn& c) {
  c.st = CSt::Connecting;
  c.t_start = now_ns();
  c.fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return broken(c, kConnect, c.t_start);
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  epoll_event ev{EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, {}};
  ev.data.u64 = uint64_t(c.gen) << 32 | uint32_t(&c - g_conns.data());
  epoll_ctl(g_epoll, EPOLL_CTL_ADD, c.fd, &ev);
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&g_addr), g_addr_len) == 0) {
    send_request(c);
  } else if (errno != EINPROGRESS) {
    broken(c, kConnect, c.t_start);
  }
}

// Returns false if the connection broke.
bool write_more(Conn& c) {
  while (c.wpos < g_req.size()) {
    ssize_t w = send(c.fd, g_req.data() + c.wpos, g_req.size() - c.wpos, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      c.st = CSt::Writing;
      return true;
    }
    if (w < 0) {
      broken(c, kReset, now_ns());
      return false;
    }
    c.wpos += size_t(w);
  }
  c.st = CSt::Reading;
  return true;
}

bool send_request(Conn& c) {
  c.rst = RSt::Head;
  c.close = c.body_seen = false;
  c.status = 0;
  c.lp = 0;
  c.events = 0;
  c.wpos = 0;
  c.head.clear();
  c.t_send = c.t_start = now_ns();
  return write_more(c);
}

void on_body(Conn& c, const char* p, size_t n, int64_t now) {
  if (n == 0) return;
  if (!c.body_seen) {
    c.body_seen = true;
    c.t_first = now;
  }
  static constexpr char kData[] = "data:";
  while (n > 0) {
    if (c.lp >= 0) {  // at the start of a line, maybe inside "data:" split across reads
      if (*p != kData[c.lp]) {
        c.lp = -1;  // leave *p unread: it may be the '\n' of an empty line
        continue;
      }
      ++p, --n;
      if (++c.lp == 5) {
        ++c.events;
        c.lp = -1;
      }
      continue;
    }
    const char* nl = static_cast<const char*>(memchr(p, '\n', n));
    if (nl == nullptr) return;
    n -= size_t(nl + 1 - p);
    p = nl + 1;
    c.lp = 0;
  }
}

enum class Head : uint8_t { Malformed, Body, NoBody };

// Reads the status line and headers (h ends with the blank line) and picks the body framing.
Head parse_head(Conn& c, std::string_view h) {
  if (h.size() < 12 || !h.starts_with("HTTP/1.")) return Head::Malformed;
  c.status = atoi(std::string(h.substr(9, 3)).c_str());
  c.close = h[7] == '0';
  bool chunked = false, has_length = false;
  uint64_t length = 0;
  for (size_t pos = h.find("\r\n") + 2; pos < h.size();) {
    size_t end = h.find("\r\n", pos);
    std::string_view l = h.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = l.find(':');
    if (colon == l.npos) continue;
    std::string_view name = l.substr(0, colon), value = l.substr(colon + 1);
    if (iequals(name, "content-length")) {
      has_length = true;
      length = strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (iequals(name, "transfer-encoding")) {
      chunked = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) c.close = true;
      if (icontains(value, "keep-alive")) c.close = false;
    }
  }
  c.digits = false;
  c.need = 0;
  if (c.status >= 100 && c.status < 200) {  // 100 Continue and friends precede the real answer
    c.rst = RSt::Head;
  } else if (chunked) {
    c.rst = RSt::ChunkSize;
  } else if (has_length && length > 0) {
    c.rst = RSt::Body;
    c.need = length;
  } else if (has_length || c.status == 204 || c.status == 304) {
    return Head::NoBody;
  } else {
    c.rst = RSt::ToClose;
  }
  return Head::Body;
}

int hex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = lower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

// Feeds response bytes. Returns false once the response ended or broke: the rest of d is not
// part of it (nothing is pipelined) and the connection may already carry a new socket.
bool process(Conn& c, const char* d, size_t n, int64_t now) {
  for (size_t i = 0; i < n;) {
    switch (c.rst) {
      case RSt::Head: {
        std::string_view h;
        if (c.head.empty()) {  // the usual case: the whole head in this read, parsed in place
          std::string_view s(d + i, n - i);
          size_t end = s.find("\r\n\r\n");
          if (end != s.npos) h = s.substr(0, end + 4);
        }
        if (h.empty()) {
          size_t old = c.head.size();
          c.head.append(d + i, n - i);
          size_t end = c.head.find("\r\n\r\n", old > 3 ? old - 3 : 0);
          if (end == c.head.npos) {
            if (c.head.size() <= 64 * 1024) return true;
            broken(c, kReset, now);
            return false;
          }
          c.head.resize(end + 4);
          h = c.head;
          i += end + 4 - old;
        } else {
          i += h.size();
        }
        const Head kind = parse_head(c, h);
        c.head.clear();
        if (kind == Head::Malformed) return broken(c, kReset, now), false;
        if (kind == Head::NoBody) return complete(c, now), false;
        break;
      }
      case RSt::Body:
      case RSt::ChunkData: {
        size_t take = size_t(std::min<uint64_t>(c.need, n - i));
        on_body(c, d + i, take, now);
        i += take;
        c.need -= take;
        if (c.need > 0) break;
        if (c.rst == RSt::Body) return complete(c, now), false;
        c.rst = RSt::ChunkEnd;
        break;
      }
      case RSt::ToClose:
        on_body(c, d + i, n - i, now);
        return true;
      case RSt::ChunkSize: {
        int v = hex(d[i]);
        if (v >= 0) {
          c.need = c.need * 16 + uint64_t(v);
          c.digits = true;
          ++i;
        } else if (c.digits) {
          c.rst = RSt::ChunkExt;
        } else {
          broken(c, kReset, now);
          return false;
        }
        break;
      }
      case RSt::ChunkExt:
      case RSt::ChunkEnd: {
        const char* nl = static_cast<const char*>(memchr(d + i, '\n', n - i));
        if (nl == nullptr) return true;
        i = size_t(nl - d) + 1;
        if (c.rst == RSt::ChunkExt) {
          c.rst = c.need == 0 ? RSt::Trailer : RSt::ChunkData;
          c.line = 0;
        } else {
          c.rst = RSt::ChunkSize;
          c.digits = false;
        }
        break;
      }
      case RSt::Trailer: {
        char ch = d[i++];
        if (ch == '\n' && c.line == 0) return complete(c, now), false;
        if (ch == '\n') c.line = 0;
        if (ch != '\n' && ch != '\r') ++c.line;
        break;
      }
    }
  }
  return true;
}

void on_readable(Conn& c) {
  const uint32_t gen = c.gen;
  while (c.gen == gen && (c.st == CSt::Reading || c.st == CSt::Writing)) {
    ssize_t r = recv(c.fd, g_rbuf, sizeof g_rbuf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    const int64_t now = now_ns();
    if (r == 0 && c.rst == RSt::ToClose) return complete(c, now);
    if (r <= 0) return broken(c, kReset, now);
    // A short read drained the socket; edge-triggered epoll reports whatever comes next.
    if (!process(c, g_rbuf, size_t(r), now) || size_t(r) < sizeof g_rbuf) return;
  }
}

void on_event(Conn& c, uint32_t ev) {
  if (c.st == CSt::Connecting) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return broken(c, kConnect, now_ns());
    if (!send_request(c)) return;
  } else if (c.st == CSt::Writing && (ev & (EPOLLOUT | EPOLLERR))) {
    if (!write_more(c)) return;
  }
  // Also while still writing: a server may answer (413, 431) before it has read the body.
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
}

// Timeouts and connect retries are checked every 100 ms: both are on a scale of seconds.
void sweep(int64_t now) {
  const int64_t limit = int64_t(O.timeout * 1e9);
  for (Conn& c : g_conns) {
    bool busy = c.st == CSt::Connecting || c.st == CSt::Writing || c.st == CSt::Reading;
    if (busy && now - c.t_start > limit) broken(c, kTimeout, now);
    if (c.st == CSt::Idle && c.retry_at != 0 && now >= c.retry_at) start_conn(c);
  }
}

uint32_t percentile(const std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t rank = size_t(std::ceil(p * double(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

[[noreturn]] void usage(const char* why) {
  fprintf(stderr,
          "bench_loadgen: %s\nusage: bench_loadgen --target HOST:PORT --path PATH [--body JSON] "
          "[--header 'Name: value']... --connections N (--duration SEC [--warmup SEC] | --once) "
          "[--expect-events K] [--ramp PER_SEC] [--timeout SEC]\n",
          why);
  exit(2);
}

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--once") {
      O.once = true;
      continue;
    }
    std::string* text = a == "--target" ? &O.target
                        : a == "--path" ? &O.path
                        : a == "--body" ? &O.body
                                        : nullptr;
    double* number = a == "--connections"     ? &O.connections
                     : a == "--duration"      ? &O.duration
                     : a == "--warmup"        ? &O.warmup
                     : a == "--expect-events" ? &O.expect_events
                     : a == "--ramp"          ? &O.ramp
                     : a == "--timeout"       ? &O.timeout
                                              : nullptr;
    if (i + 1 >= argc || (text == nullptr && number == nullptr && a != "--header")) usage(argv[i]);
    const char* v = argv[++i];
    if (text != nullptr) *text = v;
    if (number != nullptr) *number = atof(v);
    if (a == "--header") O.headers.push_back(v);
  }
  if (O.target.empty() || O.connections < 1 || O.ramp <= 0 || O.timeout <= 0) usage("bad options");
  if (O.once == (O.duration >= 0)) usage("give either --duration or --once");

  size_t colon = O.target.rfind(':');
  if (colon == std::string::npos) usage("--target must be HOST:PORT");
  std::string host = O.target.substr(0, colon), port = O.target.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{}, *ai = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0) usage("cannot resolve --target");
  memcpy(&g_addr, ai->ai_addr, ai->ai_addrlen);
  g_addr_len = ai->ai_addrlen;
  freeaddrinfo(ai);

  g_req = (O.body.empty() ? "GET " : "POST ") + O.path + " HTTP/1.1\r\nHost: " + O.target + "\r\n";
  if (!O.body.empty())
    g_req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(O.body.size()) +
             "\r\n";
  for (const std::string& h : O.headers) g_req += h + "\r\n";
  g_req += "\r\n" + O.body;
}

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGPIPE, SIG_IGN);

  const size_t n = size_t(O.connections);
  const int total = int(n);
  // Reserved, not touched: pages only get mapped as samples arrive.
  const size_t expected = O.once ? n : size_t(std::min(O.duration * 300'000, double(1 << 27)));
  g_ttfb.reserve(expected);
  g_latency.reserve(expected);
  g_conns.resize(n);
  g_epoll = epoll_create1(EPOLL_CLOEXEC);

  const int64_t start = now_ns();
  g_measure_from = O.once ? start : start + int64_t(O.warmup * 1e9);
  const int64_t end = g_measure_from + int64_t(O.duration * 1e9);
  const double ns_per_open = 1e9 / O.ramp;
  size_t opened = 0;
  int64_t next_sweep = start + 100'000'000;
  std::vector<epoll_event> events(1024);
  int64_t now = start;
  for (;;) {
    // Opening at a bounded rate keeps a burst of SYNs from overflowing the listen backlog.
    while (opened < n && now >= start + int64_t(double(opened) * ns_per_open))
      start_conn(g_conns[opened++]);
    if (now >= next_sweep) {
      sweep(now);
      next_sweep = now + 100'000'000;
    }
    if (O.once ? g_done == total : now >= end) break;
    int64_t wake = next_sweep;
    if (opened < n) wake = std::min(wake, start + int64_t(double(opened) * ns_per_open));
    if (!O.once) wake = std::min(wake, end);
    int timeout = int(std::max<int64_t>(0, (wake - now + 999'999) / 1'000'000));
    int got = epoll_wait(g_epoll, events.data(), int(events.size()), timeout);
    for (int k = 0; k < got; ++k) {
      const uint64_t data = events[size_t(k)].data.u64;
      Conn& c = g_conns[uint32_t(data)];
      if (c.gen == uint32_t(data >> 32) && c.fd >= 0) on_event(c, events[size_t(k)].events);
    }
    now = now_ns();
  }

  const int64_t stop = O.once ? std::max(g_last_done, start) : now;
  const double seconds = double(stop - g_measure_from) / 1e9;
  std::sort(g_ttfb.begin(), g_ttfb.end());
  std::sort(g_latency.begin(), g_latency.end());
  unsigned long long errors = 0;
  for (unsigned long long e : g_err) errors += e;
  auto p = [](const std::vector<uint32_t>& v, double q) { return unsigned(percentile(v, q)); };
  printf(
      "{\"connections\":%d,\"duration_s\":%.3f,\"completed\":%llu,\"errors\":%llu,"
      "\"errors_by_kind\":{\"status\":%llu,\"reset\":%llu,\"events\":%llu,\"timeout\":%llu,"
      "\"connect\":%llu},\"rps\":%.1f,\"ttfb_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,"
      "\"max\":%u},\"latency_us\":{\"p50\":%u,\"p99\":%u,\"max\":%u},\"events_total\":%llu}\n",
      total, seconds, g_completed, errors, g_err[kStatus], g_err[kReset], g_err[kEvents],
      g_err[kTimeout], g_err[kConnect], seconds > 0 ? double(g_completed) / seconds : 0.0,
      p(g_ttfb, 0.5), p(g_ttfb, 0.9), p(g_ttfb, 0.99), p(g_ttfb, 0.999), p(g_ttfb, 1.0),
      p(g_latency, 0.5), p(g_latency, 0.99), p(g_latency, 1.0), g_events_total);
  return 0;
}
