#pragma once
// The receiving end of PostgreSQL's LISTEN/NOTIFY for one channel, on a connection of its own:
// notifications reach a session only between its transactions, so the store's own connection
// cannot wait for them. It connects on the first wait() (a CLI command never waits, and so never
// opens it) with libpq's non-blocking calls, so that no wait() blocks past its deadline, not
// even against a server that does not answer. A host name in conninfo is the exception: libpq
// resolves it synchronously; use an IP address or a socket directory where that matters.
//
// Not thread-safe: one thread (serve's snapshot poller) calls wait().
#include <libpq-fe.h>

#include <chrono>
#include <string>

namespace relay::store::pg {

class NotifyListener {
 public:
  // payload: notifications whose payload is neither "" nor this are another deployment's (the
  // config triggers send their schema's name) and are ignored.
  NotifyListener(std::string conninfo, std::string channel, std::string payload);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  // Blocks up to max. true: a notification came, or the connection was just (re)established
  // and notifications may have been missed; false: max passed without either. Never throws:
  // while the server is down it retries at most every 250 ms and warns once per outage.
  bool wait(std::chrono::milliseconds max);

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kDown, kConnecting, kListening, kReady };
  enum class Drain { kNothing, kNews, kBroken };

  void start_connect();
  bool step_connect(Clock::time_point deadline);  // false: deadline passed
  bool step_listen(Clock::time_point deadline);   // false: deadline passed
  Drain drain();
  // Waits until the socket is ready for events or until `until`; false on timeout.
  bool await(short events, Clock::time_point until);
  void fail(const std::string& why);
  void drop();

  std::string conninfo_;
  std::string channel_;
  std::string payload_;
  std::string redacted_;
  PGconn* conn_ = nullptr;
  State state_ = State::kDown;
  PostgresPollingStatusType polling_ = PGRES_POLLING_WRITING;
  Clock::time_point connect_started_{};
  Clock::time_point next_attempt_{};
  std::string listen_error_;
  bool warned_ = false;  // this outage has been logged
};

}  // namespace relay::store::pg
