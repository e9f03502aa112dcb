#include "store/sqlite/limit_columns.hpp"

#include <string>
#include <utility>

#include "store/config_rules.hpp"

namespace relay::store::sqlite {

TenantLimits read_limits(const Stmt& q, int first) {
  TenantLimits l;
  l.rps = q.int64(first);
  l.rpm = q.int64(first + 1);
  l.concurrency = q.int64(first + 2);
  l.daily_requests = q.int64(first + 3);
  l.daily_tokens = q.int64(first + 4);
  l.monthly_tokens = q.int64(first + 5);
  return l;
}

void update_limits(sqlite3* db, std::string_view table, std::string_view id_column,
                   std::string_view what, std::string_view id, const TenantLimitsUpdate& u) {
  require_tenant_limits(u);
  // NULL keeps the column as it is, so one statement covers every combination.
  Stmt up(db, "UPDATE " + std::string(table) +
                  " SET rps = COALESCE(?, rps), rpm = COALESCE(?, rpm), "
                  "concurrency = COALESCE(?, concurrency), "
                  "daily_requests = COALESCE(?, daily_requests), "
                  "daily_tokens = COALESCE(?, daily_tokens), "
                  "monthly_tokens = COALESCE(?, monthly_tokens) WHERE " +
                  std::string(id_column) + " = ?");
  up.bind(1, u.rps).bind(2, u.rpm).bind(3, u.concurrency).bind(4, u.daily_requests);
  up.bind(5, u.daily_tokens).bind(6, u.monthly_tokens).bind(7, id);
  up.step();
  if (sqlite3_changes(db) == 0)
    throw StoreError(StoreError::Kind::kNotFound,
                     std::string(what) + " '" + std::string(id) + "' not found");
}

}  // namespace relay::store::sqlite
