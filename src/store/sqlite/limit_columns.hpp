#pragma once
// The six admission-limit columns that tenants and api_keys both carry (migrations 4 and 5), in
// TenantLimits order. One place to read and update them, so the two tables cannot drift apart.
#include <sqlite3.h>

#include <string_view>

#include "store/config_store.hpp"
#include "store/sqlite/statement.hpp"

namespace relay::store::sqlite {

// The six columns, selected in the order rps, rpm, concurrency, daily_requests, daily_tokens,
// monthly_tokens, read from `first` on.
TenantLimits read_limits(const Stmt& q, int first);

// Sets the limits `u` gives on the row of `table` whose `id_column` is `id`, in one statement.
// Throws StoreError kInvalid for a negative value (nothing changes), kNotFound (naming it
// "`what` 'id'") when there is no such row.
void update_limits(sqlite3* db, std::string_view table, std::string_view id_column,
                   std::string_view what, std::string_view id, const TenantLimitsUpdate& u);

}  // namespace relay::store::sqlite
