#include "store/postgres/notify_listener.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <exception>
#include <string_view>
#include <thread>
#include <utility>

#include "store/postgres/connection.hpp"

namespace relay::store::pg {
namespace {

// As Connection's connect_timeout, which libpq applies to blocking connects only.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kRetry = std::chrono::milliseconds(250);

}  // namespace

NotifyListener::NotifyListener(std::string conninfo, std::string channel, std::string payload)
    : conninfo_(std::move(conninfo)),
      channel_(std::move(channel)),
      payload_(std::move(payload)),
      redacted_(redact_conninfo(conninfo_)) {}

NotifyListener::~NotifyListener() {
  drop();
}

bool NotifyListener::wait(std::chrono::milliseconds max) {
  const Clock::time_point deadline = Clock::now() + max;
  try {
    for (;;) {
      switch (state_) {
        case State::kReady:
          switch (drain()) {
            case Drain::kNews:
              return true;
            case Drain::kBroken:
              fail(PQerrorMessage(conn_));
              break;
            case Drain::kNothing:
              if (!await(POLLIN, deadline)) return false;
              break;
          }
          break;
        case State::kDown: {
          const Clock::time_point now = Clock::now();
          if (now >= next_attempt_) {
            start_connect();
            break;
          }
          if (now >= deadline) return false;
          std::this_thread::sleep_until(std::min(next_attempt_, deadline));
          break;
        }
        case State::kConnecting:
          if (!step_connect(deadline)) return false;
          break;
        case State::kListening:
          if (!step_listen(deadline)) return false;
          if (state_ == State::kReady) return true;  // anything before LISTEN went unheard
          break;
      }
    }
  } catch (const std::exception& e) {
    // Only an allocation can fail here. "Maybe changed" is always a safe answer: the caller
    // compares the change token next.
    fail(e.what());
    return true;
  }
}

void NotifyListener::start_connect() {
  // Before dbname, so that conninfo's own settings win. The keepalives notice a server that
  // vanished without closing the socket within about a minute rather than two hours.
  const char* const keys[] = {"application_name", "keepalives_idle", "keepalives_interval",
                              "keepalives_count", "dbname",          nullptr};
  const char* const values[] = {"codex-relay", "30", "10", "3", conninfo_.c_str(), nullptr};
  connect_started_ = Clock::now();
  conn_ = PQconnectStartParams(keys, values, 1);
  if (conn_ == nullptr) return fail("out of memory");
  if (PQstatus(conn_) == CONNECTION_BAD) return fail(PQerrorMessage(conn_));
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  state_ = State::kConnecting;
  polling_ = PGRES_POLLING_WRITING;  // what libpq asks for before the first PQconnectPoll
}

bool NotifyListener::step_connect(Clock::time_point deadline) {
  const Clock::time_point give_up = connect_started_ + kConnectTimeout;
  if (Clock::now() >= give_up) {
    fail("timed out connecting");
    return true;
  }
  const short events = polling_ == PGRES_POLLING_READING ? POLLIN : POLLOUT;
  if (!await(events, std::min(deadline, give_up))) return Clock::now() < deadline;
  polling_ = PQconnectPoll(conn_);
  if (polling_ == PGRES_POLLING_FAILED) {
    fail(PQerrorMessage(conn_));
  } else if (polling_ == PGRES_POLLING_OK) {
    const std::string listen = "LISTEN " + channel_;
    if (PQsetnonblocking(conn_, 1) != 0 || PQsendQuery(conn_, listen.c_str()) == 0) {
      fail(PQerrorMessage(conn_));
    } else {
      listen_error_.clear();
      state_ = State::kListening;
    }
  }
  return true;
}

bool NotifyListener::step_listen(Clock::time_point deadline) {
  const int flushed = PQflush(conn_);
  if (flushed < 0 || PQconsumeInput(conn_) == 0) {
    fail(PQerrorMessage(conn_));
    return true;
  }
  while (PQisBusy(conn_) == 0) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (!listen_error_.empty()) {
        fail(listen_error_);
        return true;
      }
      state_ = State::kReady;
      if (warned_) spdlog::info("postgres ({}): config change listener connected again", redacted_);
      warned_ = false;
      return true;
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK) listen_error_ = PQresultErrorMessage(r);
    PQclear(r);
  }
  return await(static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0)), deadline);
}

NotifyListener::Drain NotifyListener::drain() {
  if (PQconsumeInput(conn_) == 0) return Drain::kBroken;
  bool news = false;
  while (PGnotify* n = PQnotifies(conn_)) {
    const std::string_view payload = n->extra != nullptr ? n->extra : "";
    if (payload.empty() || payload == payload_) news = true;
    PQfreemem(n);
  }
  if (news) return Drain::kNews;
  return PQstatus(conn_) == CONNECTION_BAD ? Drain::kBroken : Drain::kNothing;
}

bool NotifyListener::await(short events, Clock::time_point until) {
  const int fd = PQsocket(conn_);
  if (fd < 0) return true;  // the next libpq call says what is wrong
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, INT_MAX)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;
  }
}

void NotifyListener::fail(const std::string& why) {
  if (!warned_)
    spdlog::warn("postgres ({}): config change listener is down, retrying every 250 ms: {}",
                 redacted_, scrub_message(why, conninfo_));
  warned_ = true;
  drop();
  next_attempt_ = Clock::now() + kRetry;
}

void NotifyListener::drop() {
  PQfinish(conn_);
  conn_ = nullptr;
  state_ = State::kDown;
}

}  // namespace relay::store::pg
