#include "redis/connection.hpp"

#include <async.h>
#include <hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <optional>

namespace relay::redis {

namespace asio = boost::asio;

namespace {

Reply convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

// One call in flight. hiredis owns a heap shared_ptr to it (the privdata) until it calls the
// reply callback, which it does exactly once: with the reply, or with NULL when the context is
// freed. The caller may have given up (timeout) long before; the Op outlives it either way.
struct Op {
  explicit Op(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;
  std::optional<Reply> reply;
  bool done = false;
};

void on_reply(redisAsyncContext* /*ac*/, void* r, void* priv) {
  std::unique_ptr<std::shared_ptr<Op>> holder(static_cast<std::shared_ptr<Op>*>(priv));
  Op& op = **holder;
  if (r != nullptr) op.reply = convert(*static_cast<redisReply*>(r));
  op.done = true;
  // Never resume the caller from inside hiredis' read loop: cancel() only queues the wake-up.
  op.wake.cancel();
}

}  // namespace

struct Connection::Impl : std::enable_shared_from_this<Impl> {
  Impl(const asio::any_io_executor& ex, Endpoint e, ConnectionOptions o)
      : executor(ex),
        endpoint(std::move(e)),
        opts(std::move(o)),
        retry_timer(ex),
        connect_timer(ex),
        backoff(opts.reconnect_min) {}

  asio::any_io_executor executor;
  Endpoint endpoint;
  ConnectionOptions opts;
  redisAsyncContext* ac = nullptr;
  std::optional<asio::posix::stream_descriptor> socket;
  // Bumped per connection attempt, so a socket wait left over from an old context never
  // touches a new one.
  std::uint64_t generation = 0;
  bool want_read = false, want_write = false, read_armed = false, write_armed = false;
  bool ready = false;    // connected; commands may be sent
  bool was_up = false;   // for logging transitions only once
  bool stopped = false;  // destructor ran: no more reconnects
  int timeouts_in_a_row = 0;
  asio::steady_timer retry_timer, connect_timer;
  std::chrono::milliseconds backoff;

  static Impl& of(void* privdata) { return *static_cast<Impl*>(privdata); }
  static Impl& of(const redisAsyncContext* c) { return *static_cast<Impl*>(c->data); }

  void connect();
  void lost(const std::string& why);
  void schedule_reconnect();
  void arm(bool read);
  void send_setup();
};

void Connection::Impl::arm(bool read) {
  bool& armed = read ? read_armed : write_armed;
  if (armed || !socket || !socket->is_open()) return;
  armed = true;
  auto wait =
      read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
  socket->async_wait(wait, [self = shared_from_this(), gen = generation,
                            read](const boost::system::error_code& ec) {
    if (gen != self->generation) return;
    (read ? self->read_armed : self->write_armed) = false;
    if (ec || self->ac == nullptr || !(read ? self->want_read : self->want_write)) return;
    // Either call may end the context (a read error, a failed connect): ac is then nulled by
    // the callbacks below, and nothing is re-armed.
    if (read)
      redisAsyncHandleRead(self->ac);
    else
      redisAsyncHandleWrite(self->ac);
    if (gen == self->generation && self->ac != nullptr &&
        (read ? self->want_read : self->want_write))
      self->arm(read);
  });
}

void Connection::Impl::connect() {
  if (stopped) return;
  ++generation;
  read_armed = write_armed = want_read = want_write = false;
  redisAsyncContext* c = redisAsyncConnect(endpoint.host.c_str(), endpoint.port);
  if (c == nullptr) {
    lost("out of memory");
    return;
  }
  if (c->err != 0) {
    std::string why = c->errstr;
    redisAsyncFree(c);
    lost(why);
    return;
  }
  ac = c;
  c->data = this;
  socket.emplace(executor, c->c.fd);
  c->ev.data = this;
  c->ev.addRead = [](void* p) {
    of(p).want_read = true;
    of(p).arm(true);
  };
  c->ev.delRead = [](void* p) { of(p).want_read = false; };
  c->ev.addWrite = [](void* p) {
    of(p).want_write = true;
    of(p).arm(false);
  };
  c->ev.delWrite = [](void* p) { of(p).want_write = false; };
  // Runs before hiredis closes the fd: give the descriptor back (cancelling our waits) so asio
  // never closes or polls a number the kernel may hand to someone else.
  c->ev.cleanup = [](void* p) {
    Impl& s = of(p);
    s.want_read = s.want_write = false;
    if (s.socket) (void)s.socket->release();
    s.socket.reset();
  };
  redisAsyncSetConnectCallback(c, [](const redisAsyncContext* ctx, int status) {
    Impl& s = of(ctx);
    s.connect_timer.cancel();
    if (status != REDIS_OK) {
      // hiredis frees the context after this returns.
      std::string why = ctx->errstr;
      s.ac = nullptr;
      s.lost(why);
      return;
    }
    s.ready = true;
    s.timeouts_in_a_row = 0;
    s.backoff = s.opts.reconnect_min;
    s.send_setup();
    if (!s.was_up) spdlog::info("{}: connected to {}", s.opts.name, s.endpoint.where());
    s.was_up = true;
  });
  redisAsyncSetDisconnectCallback(c, [](const redisAsyncContext* ctx, int /*status*/) {
    Impl& s = of(ctx);
    std::string why = ctx->err != 0 ? ctx->errstr : "connection closed";
    s.ac = nullptr;
    s.lost(why);
  });
  // A SYN into the void would leave the connect pending for minutes.
  connect_timer.expires_after(opts.connect_timeout);
  connect_timer.async_wait(
      [self = shared_from_this(), gen = generation](const boost::system::error_code& ec) {
        if (ec || gen != self->generation || self->ready || self->ac == nullptr) return;
        redisAsyncContext* stale = self->ac;
        self->ac = nullptr;
        redisAsyncFree(stale);  // not connected yet: no disconnect callback follows
        self->lost("connect timed out");
      });
}

// AUTH and SELECT go first on the new connection, so every later command runs after them. A
// refusal (wrong password, no such database) drops the connection: commands would only fail.
void Connection::Impl::send_setup() {
  auto check = [](redisAsyncContext* c, void* r, void* what) {
    auto* reply = static_cast<redisReply*>(r);
    if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return;
    Impl& s = of(c);
    // The server's message, never the password: AUTH errors do not echo it.
    spdlog::error("{}: {} refused by {}: {}", s.opts.name, static_cast<const char*>(what),
                  s.endpoint.where(), std::string(reply->str, reply->len));
    redisAsyncDisconnect(c);
  };
  if (!endpoint.password.empty()) {
    static const char kAuth[] = "AUTH";
    if (endpoint.user.empty()) {
      std::array<const char*, 2> argv{kAuth, endpoint.password.c_str()};
      std::array<std::size_t, 2> lens{4, endpoint.password.size()};
      redisAsyncCommandArgv(ac, check, const_cast<char*>("AUTH"), 2, argv.data(), lens.data());
    } else {
      std::array<const char*, 3> argv{kAuth, endpoint.user.c_str(), endpoint.password.c_str()};
      std::array<std::size_t, 3> lens{4, endpoint.user.size(), endpoint.password.size()};
      redisAsyncCommandArgv(ac, check, const_cast<char*>("AUTH"), 3, argv.data(), lens.data());
    }
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    std::array<const char*, 2> argv{"SELECT", db.c_str()};
    std::array<std::size_t, 2> lens{6, db.size()};
    redisAsyncCommandArgv(ac, check, const_cast<char*>("SELECT"), 2, argv.data(), lens.data());
  }
}

void Connection::Impl::lost(const std::string& why) {
  ready = false;
  if (stopped) return;
  if (was_up)
    spdlog::warn("{}: connection to {} lost ({}); reconnecting", opts.name, endpoint.where(), why);
  else if (backoff == opts.reconnect_min)
    spdlog::warn("{}: cannot connect to {} ({}); retrying", opts.name, endpoint.where(), why);
  was_up = false;
  schedule_reconnect();
}

void Connection::Impl::schedule_reconnect() {
  retry_timer.expires_after(backoff);
  backoff = std::min(backoff * 2, opts.reconnect_max);
  retry_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->stopped && self->ac == nullptr) self->connect();
  });
}

Connection::Connection(const asio::any_io_executor& ex, Endpoint endpoint, ConnectionOptions opts)
    : impl_(std::make_shared<Impl>(ex, std::move(endpoint), std::move(opts))) {}

Connection::~Connection() {
  impl_->stopped = true;
  impl_->retry_timer.cancel();
  impl_->connect_timer.cancel();
  if (impl_->ac != nullptr) {
    redisAsyncContext* c = impl_->ac;
    impl_->ac = nullptr;
    redisAsyncFree(c);  // pending calls complete with Unavailable
  }
}

void Connection::start() {
  if (impl_->ac == nullptr && !impl_->stopped) impl_->connect();
}

bool Connection::connected() const {
  return impl_->ready && impl_->ac != nullptr;
}

asio::awaitable<Reply> Connection::command(std::span<const std::string_view> argv) {
  const std::shared_ptr<Impl> self = impl_;  // the Connection may be destroyed mid-call
  Impl& s = *self;
  if (!s.ready || s.ac == nullptr)
    throw Unavailable(s.opts.name + ": not connected to " + s.endpoint.where());
  constexpr std::size_t kMaxArgs = 16;
  if (argv.empty() || argv.size() > kMaxArgs) throw std::invalid_argument("redis: bad argv size");
  std::array<const char*, kMaxArgs> ptrs{};
  std::array<std::size_t, kMaxArgs> lens{};
  for (std::size_t i = 0; i < argv.size(); ++i) {
    ptrs[i] = argv[i].data();
    lens[i] = argv[i].size();
  }
  auto op = std::make_shared<Op>(s.executor);
  auto* holder = new std::shared_ptr<Op>(op);
  if (redisAsyncCommandArgv(s.ac, on_reply, holder, static_cast<int>(argv.size()), ptrs.data(),
                            lens.data()) != REDIS_OK) {
    delete holder;
    throw Unavailable(s.opts.name + ": connection to " + s.endpoint.where() + " is closing");
  }
  op->wake.expires_after(s.opts.call_timeout);
  if (!op->done) co_await op->wake.async_wait(asio::as_tuple(asio::use_awaitable));

  if (!op->done) {
    if (++s.timeouts_in_a_row >= s.opts.timeouts_before_reconnect && s.ac != nullptr) {
      spdlog::warn("{}: {} calls in a row timed out; reconnecting to {}", s.opts.name,
                   s.timeouts_in_a_row, s.endpoint.where());
      redisAsyncContext* c = s.ac;
      redisAsyncFree(c);  // the disconnect callback nulls ac and schedules the reconnect
    }
    throw Unavailable(s.opts.name + ": no answer from " + s.endpoint.where() + " within " +
                      std::to_string(s.opts.call_timeout.count()) + " ms");
  }
  if (!op->reply)
    throw Unavailable(s.opts.name + ": connection to " + s.endpoint.where() + " lost");
  s.timeouts_in_a_row = 0;
  co_return std::move(*op->reply);
}

}  // namespace relay::redis
