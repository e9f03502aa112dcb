// The PostgreSQL UsageStore: the shared contract suite (usage_store_suite.hpp) against the test
// server, then what only this backend has: daily partitions that retention drops whole,
// idempotent redelivery, and connection errors that keep the password out of the message.
#include "store/postgres/pg_usage_store.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "postgres_test_support.hpp"
#include "store/postgres/migrations.hpp"
#include "usage_store_suite.hpp"

namespace relay::store {
namespace {

using records::UsageRecord;
using usage_suite::by_tenant;
using usage_suite::expected_by;
using usage_suite::ids;
using usage_suite::kDay27;
using usage_suite::mixed_records;
using usage_suite::rec;

// A fresh schema per test, in the fixture's database.
struct PgBackend {
  static bool available() { return !test::test_postgres_url().empty(); }
  std::unique_ptr<UsageStore> open() { return std::make_unique<PgUsageStore>(schema.url()); }
  void fail_inserts_of(const std::string& request_id) {
    schema.exec(
        "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected'; END $$; "
        "CREATE TRIGGER fail_insert BEFORE INSERT ON usage_records FOR EACH ROW WHEN "
        "(NEW.request_id = '" +
        request_id + "') EXECUTE FUNCTION fail();");
  }
  void fail_aggregate_updates() {
    schema.exec(
        "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected'; END $$; "
        "CREATE TRIGGER fail_daily BEFORE UPDATE ON usage_daily FOR EACH ROW "
        "EXECUTE FUNCTION fail();");
  }
  std::int64_t count(const std::string& table) {
    return schema.count("SELECT COUNT(*) FROM " + table);
  }

  test::PgTestSchema schema{test::test_postgres_url()};
};

}  // namespace

namespace usage_suite {
INSTANTIATE_TYPED_TEST_SUITE_P(Pg, UsageStoreSuite, ::testing::Types<PgBackend>);
}  // namespace usage_suite

namespace {

class PgUsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PgBackend::available()) GTEST_SKIP() << "no test postgres (run through ctest)";
    backend_ = std::make_unique<PgBackend>();
  }
  // The partitions of usage_records in this test's schema, by name.
  std::vector<std::string> partitions() {
    std::vector<std::string> out;
    for (const std::string day : {"20261126", "20261127", "20261128", "20261129"}) {
      const std::int64_t n = backend_->schema.count(
          "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
          "WHERE i.inhparent = 'usage_records'::regclass AND c.relname = 'usage_records_" +
          day + "'");
      if (n == 1) out.push_back(day);
    }
    return out;
  }
  std::unique_ptr<PgBackend> backend_;
};

TEST_F(PgUsageStoreTest, PartitionsArePerDayAndRetentionDropsWholeDays) {
  PgUsageStore s(backend_->schema.url());
  EXPECT_TRUE(partitions().empty());
  const auto rs = mixed_records();  // 6 on the 26th, 18 on the 27th, 6 on the 28th
  s.append(rs, "usage", 1);
  EXPECT_EQ(partitions(), (std::vector<std::string>{"20261126", "20261127", "20261128"}));
  EXPECT_EQ(backend_->schema.count("SELECT COUNT(*) FROM usage_records_20261127"), 18);

  // The 26th and 27th end at or before the cutoff: dropped whole, and their rows counted.
  EXPECT_EQ(s.delete_older_than(kDay27 + 86'400'000), 24);
  EXPECT_EQ(partitions(), (std::vector<std::string>{"20261128"}));
  EXPECT_EQ(s.query({}).size(), 6u);
  // A cutoff inside a day deletes rows from its partition and keeps the partition.
  s.append({rec("late", "t", kDay27 + 86'400'000 + 10)}, "usage", 2);
  EXPECT_EQ(s.delete_older_than(kDay27 + 86'400'000 + 5), 6);
  EXPECT_EQ(partitions(), (std::vector<std::string>{"20261128"}));
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"late"}));
  // A record of a dropped day arriving late gets its partition again, from this store or another.
  PgUsageStore other(backend_->schema.url());
  other.append({rec("old", "t", kDay27 + 1)}, "usage", 3);
  EXPECT_EQ(other.delete_older_than(kDay27 + 86'400'000), 1);
  s.append({rec("older", "t", kDay27 + 2)}, "usage", 4);  // s still thinks the 27th exists
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"older", "late"}));
}

TEST_F(PgUsageStoreTest, RedeliveredRecordsAreStoredAndCountedOnce) {
  PgUsageStore s(backend_->schema.url());
  const auto rs = mixed_records();
  s.append({rs.begin(), rs.begin() + 20}, "usage", 1);
  // At-least-once delivery: a batch overlapping the last, one entirely seen, one record twice.
  s.append({rs.begin() + 10, rs.end()}, "usage", 2);
  s.append({rs.begin(), rs.begin() + 5}, "usage", 3);
  s.append({rs[7], rs[7]}, "usage", 4);
  EXPECT_EQ(s.query({}).size(), 30u);
  EXPECT_EQ(s.totals({}, UsageGroup::kTenant), expected_by(rs, by_tenant));
  EXPECT_EQ(s.journal_offset("usage"), 4);
  // The same request id on another start_ms is another record.
  UsageRecord again = rs[0];
  again.start_ms += 1;
  s.append({again}, "usage", 5);
  EXPECT_EQ(s.query({}).size(), 31u);
}

TEST_F(PgUsageStoreTest, TwoStoresCreatingTheSameDayAtOnceBothSucceed) {
  std::vector<std::unique_ptr<PgUsageStore>> stores;
  for (int i = 0; i < 2; ++i)
    stores.push_back(std::make_unique<PgUsageStore>(backend_->schema.url()));
  std::vector<std::thread> threads;
  std::vector<std::string> errors(2);
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int day = 0; day < 20; ++day) {
          const std::int64_t at = kDay27 + std::int64_t{day} * 86'400'000;
          stores[t]->append({rec("t" + std::to_string(t) + "d" + std::to_string(day), "x", at)},
                            "j" + std::to_string(t), day + 1);
        }
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(stores[0]->query({}).size(), 40u);
  EXPECT_EQ(backend_->schema.count("SELECT COUNT(*) FROM pg_inherits "
                                   "WHERE inhparent = 'usage_records'::regclass"),
            20);
}

TEST_F(PgUsageStoreTest, MigrationIsRecordedOnceAndReopeningKeepsTheData) {
  PgUsageStore(backend_->schema.url()).append({rec("a", "t", 1)}, "usage", 9);
  PgUsageStore again(backend_->schema.url());
  EXPECT_EQ(backend_->schema.count("SELECT COUNT(*) FROM schema_version"),
            static_cast<std::int64_t>(pg::migrations().size()));
  EXPECT_EQ(again.journal_offset("usage"), 9);
  backend_->schema.exec("INSERT INTO schema_version (version) VALUES (99)");
  EXPECT_THROW(PgUsageStore{backend_->schema.url()}, StoreError);  // a newer schema
}

TEST_F(PgUsageStoreTest, AStoreReconnectsAfterItsSessionWasKilled) {
  const std::string url = backend_->schema.url() + "&application_name=" + backend_->schema.name();
  PgUsageStore s(url);
  s.append({rec("a", "t", 1)}, "usage", 1);
  // Waits (up to 5 s) until the session is gone, so the next call surely meets a dead socket.
  ASSERT_EQ(backend_->schema.count("SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
                                   "FROM pg_stat_activity WHERE application_name = '" +
                                   backend_->schema.name() + "'"),
            1);
  // The call that meets it fails (its statement may or may not have run); the next reconnects.
  EXPECT_THROW(s.journal_offset("usage"), StoreError);
  s.append({rec("b", "t", 2)}, "usage", 2);
  EXPECT_EQ(ids(s.query({})), (std::vector<std::string>{"a", "b"}));
}

TEST(PgConnectionTest, UnreachableServerIsAStoreErrorWithoutThePassword) {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  for (const std::string url : {"postgresql://relay:s3cr3t-pw@127.0.0.1:1/db",
                                "postgresql://relay@127.0.0.1:1/db?password=s3cr3t-pw",
                                "host=127.0.0.1 port=1 user=relay password=s3cr3t-pw dbname=db",
                                "postgresql://relay:s3cr3t-pw@127.0.0.1:1/db?bogus_option=1"}) {
    try {
      PgUsageStore s(url);
      ADD_FAILURE() << "connected to " << url;
    } catch (const StoreError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("s3cr3t"), std::string::npos) << what;
      EXPECT_NE(what.find("postgres"), std::string::npos) << what;
      EXPECT_NE(what.find("***"), std::string::npos) << what;
    }
  }
  EXPECT_EQ(pg::redact_conninfo("postgresql://u:p%40ss@h:5/d?password=x&sslmode=require"),
            "postgresql://u:***@h:5/d?password=***&sslmode=require");
}

}  // namespace
}  // namespace relay::store
