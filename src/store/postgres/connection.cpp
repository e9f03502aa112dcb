#include "store/postgres/connection.hpp"

#include <charconv>
#include <memory>

namespace relay::store::pg {
namespace {

// Replaces [from, to) of s by "***" and remembers what was there.
void mask(std::string& s, std::size_t from, std::size_t to, std::vector<std::string>& secrets) {
  if (to <= from) return;
  secrets.push_back(s.substr(from, to - from));
  s.replace(from, to - from, "***");
}

// The userinfo password of a URI and every password=VALUE (URI query or keyword form). Done by
// hand rather than with PQconninfoParse because a conninfo that does not parse must still not
// show up in a message with its password.
std::string redact(std::string_view conninfo, std::vector<std::string>& secrets) {
  std::string s(conninfo);
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (s.compare(0, scheme.size(), scheme) != 0) continue;
    const std::size_t begin = scheme.size();
    const std::size_t end = std::min(s.find_first_of("/?", begin), s.size());
    const std::size_t at = s.rfind('@', end);
    if (at != std::string::npos && at >= begin) {
      const std::size_t colon = s.find(':', begin);
      if (colon < at) mask(s, colon + 1, at, secrets);
    }
    break;
  }
  for (std::size_t pos = 0; (pos = s.find("password", pos)) != std::string::npos;) {
    std::size_t v = s.find_first_not_of(' ', pos + 8);
    pos += 8;
    if (v == std::string::npos || s[v] != '=') continue;
    v = s.find_first_not_of(' ', v + 1);
    if (v == std::string::npos) break;
    std::size_t end = 0;
    if (s[v] == '\'') {
      end = s.find('\'', v + 1);
      end = end == std::string::npos ? s.size() : end + 1;
    } else {
      end = std::min(s.find_first_of("& \t\n", v), s.size());
    }
    mask(s, v, end, secrets);
    pos = v + 3;
  }
  return s;
}

std::string scrub(std::string msg, const std::vector<std::string>& secrets) {
  for (const std::string& p : secrets) {
    if (p.empty()) continue;
    for (std::size_t at = 0; (at = msg.find(p, at)) != std::string::npos;)
      msg.replace(at, p.size(), "***");
  }
  // libpq's messages span lines ("\n\tIs the server running ..."): one line for the logs.
  std::string out;
  for (char c : msg) {
    const bool space = c == '\n' || c == '\t' || c == ' ';
    if (!space)
      out += c;
    else if (!out.empty() && out.back() != ' ')
      out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  std::vector<std::string> ignored;
  return redact(conninfo, ignored);
}

std::string scrub_message(std::string_view message, std::string_view conninfo) {
  std::vector<std::string> secrets;
  redact(conninfo, secrets);
  const std::string text(conninfo);
  if (PQconninfoOption* opts = PQconninfoParse(text.c_str(), nullptr)) {
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
      if (std::string_view(o->keyword) == "password" && o->val != nullptr)
        secrets.emplace_back(o->val);
    PQconninfoFree(opts);
  }
  return scrub(std::string(message), secrets);
}

Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

std::string_view Result::text(int row, int col) const {
  return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}

std::int64_t Result::int64(int row, int col) const {
  const std::string_view t = text(row, col);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size())
    throw StoreError(StoreError::Kind::kInvalid,
                     "postgres: expected an integer, got '" + std::string(t) + "'");
  return v;
}

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_);
  return n == nullptr || *n == '\0' ? 0 : std::stoll(n);
}

Connection::Connection(const std::string& conninfo) {
  std::vector<std::string> secrets;
  redacted_ = redact(conninfo, secrets);
  // Before dbname, so that a connect_timeout in conninfo itself wins over this default.
  const char* const keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* const values[] = {"5", "codex-relay", conninfo.c_str(), nullptr};
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    const std::string why = err != nullptr ? scrub(err, secrets) : "out of memory";
    PQfreemem(err);
    throw Error(StoreError::Kind::kInvalid,
                "postgres: invalid connection string " + redacted_ + ": " + why, "");
  }
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
    if (std::string_view(o->keyword) == "password" && o->val != nullptr)
      secrets.emplace_back(o->val);
  PQconninfoFree(opts);
  secrets_ = std::move(secrets);
  conn_ = PQconnectdbParams(keys, values, 1);
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = scrub(PQerrorMessage(conn_), secrets_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(StoreError::Kind::kIo, "postgres: cannot connect to " + redacted_ + ": " + why, "");
  }
  // libpq prints NOTICEs to stderr by default; CREATE ... IF NOT EXISTS on an existing partition
  // is one, and an expected one.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

void Connection::reconnect_if_broken() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) fail("reconnect", nullptr);
}

void Connection::fail(std::string_view what, const PGresult* r) const {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  // The server's primary message without its LINE/caret context, which quotes the statement.
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string why = scrub(primary != nullptr ? primary
                          : r != nullptr     ? PQresultErrorMessage(r)
                                             : PQerrorMessage(conn_),
                          secrets_);
  if (state != nullptr) why = std::string(state) + " " + why;
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  throw Error(StoreError::Kind::kIo,
              "postgres (" + redacted_ + "): " + std::string(what) + ": " +
                  (why.empty() ? "unknown error" : why) + (lost ? " (connection lost)" : ""),
              state != nullptr ? state : "");
}

Result Connection::exec(std::string_view sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  return run(sql, values);
}

Result Connection::exec_nullable(std::string_view sql,
                                 const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return run(sql, values);
}

Result Connection::run(std::string_view sql, const std::vector<const char*>& values) {
  if (!in_transaction_) reconnect_if_broken();
  const std::string text(sql);
  Result r(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0));
  // The statement's first words say what failed, without the parameters (record contents).
  const std::string what = text.substr(0, std::min<std::size_t>(text.find_first_of("(\n"), 60));
  if (r.get() == nullptr) fail(what, nullptr);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(what, r.get());
  return r;
}

void Connection::exec_script(std::string_view sql) {
  if (!in_transaction_) reconnect_if_broken();
  const std::string text(sql);
  const Result r(PQexec(conn_, text.c_str()));
  if (r.get() == nullptr) fail("script", nullptr);
  const ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail("script", r.get());
}

Transaction::Transaction(Connection& c) : c_(c) {
  c_.exec("BEGIN");
  c_.in_transaction_ = true;
}

Transaction::~Transaction() {
  c_.in_transaction_ = false;
  if (done_) return;
  // Best effort: on a lost connection the server has rolled back already.
  PQclear(PQexec(c_.conn_, "ROLLBACK"));
}

void Transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

}  // namespace relay::store::pg
