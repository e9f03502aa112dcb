#include "store/postgres/config_rows.hpp"

namespace relay::store::pg {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

TenantLimits read_limits(const Result& r, int row, int first) {
  TenantLimits l;
  l.rps = r.int64(row, first);
  l.rpm = r.int64(row, first + 1);
  l.concurrency = r.int64(row, first + 2);
  l.daily_requests = r.int64(row, first + 3);
  l.daily_tokens = r.int64(row, first + 4);
  l.monthly_tokens = r.int64(row, first + 5);
  return l;
}

std::optional<std::int64_t> opt_int64(const Result& r, int row, int col) {
  if (PQgetisnull(r.get(), row, col) != 0) return std::nullopt;
  return r.int64(row, col);
}

std::string id_by_name(Connection& c, const char* table, const char* what, std::string_view name) {
  const Result r = c.exec(std::string("SELECT id FROM ") + table + " WHERE name = $1 FOR KEY SHARE",
                          {std::string(name)});
  if (r.rows() == 0)
    throw StoreError(StoreError::Kind::kNotFound,
                     std::string(what) + " '" + std::string(name) + "' not found");
  return std::string(r.text(0, 0));
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return "";
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return "";
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace relay::store::pg
