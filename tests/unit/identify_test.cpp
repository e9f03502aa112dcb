#include "relay/identify.hpp"

#include <gtest/gtest.h>

#include "crypto/relay_key.hpp"

namespace relay {
namespace {

store::Snapshot snapshot_with(const std::string& key, store::SnapshotKey k) {
  store::Snapshot s;
  s.keys_by_hash.emplace(crypto::sha256_hex(key), std::move(k));
  return s;
}

store::SnapshotKey active(std::string tenant = "team") {
  store::SnapshotKey k;
  k.key_id = "key_1";
  k.tenant_name = std::move(tenant);
  return k;
}

TEST(Identify, BearerAndXApiKeyBothWork) {
  auto snap = snapshot_with("crk_good", active());
  EXPECT_TRUE(identify(snap, {{"authorization", "Bearer crk_good"}}, 0).ok());
  EXPECT_TRUE(identify(snap, {{"authorization", "bearer  crk_good "}}, 0).ok());
  EXPECT_TRUE(identify(snap, {{"x-api-key", "crk_good"}}, 0).ok());
  EXPECT_EQ(identify(snap, {{"x-api-key", "crk_good"}}, 0).key->tenant_name, "team");
}

TEST(Identify, FailuresAreNamed) {
  auto snap = snapshot_with("crk_good", active());
  EXPECT_EQ(identify(snap, {}, 0).failure, IdentifyFailure::kMissing);
  EXPECT_EQ(identify(snap, {{"authorization", "Basic abc"}}, 0).failure, IdentifyFailure::kMissing);
  EXPECT_EQ(identify(snap, {{"authorization", "Bearer "}}, 0).failure, IdentifyFailure::kMissing);
  EXPECT_EQ(identify(snap, {{"authorization", "Bearer crk_bad"}}, 0).failure,
            IdentifyFailure::kUnknown);
}

TEST(Identify, RevokedExpiredAndDisabledTenantAreRefused) {
  auto k = active();
  k.revoked = true;
  EXPECT_EQ(identify(snapshot_with("a", k), {{"x-api-key", "a"}}, 0).failure,
            IdentifyFailure::kRevoked);
  k = active();
  k.expires_at = 1000;
  auto snap = snapshot_with("a", k);
  EXPECT_TRUE(identify(snap, {{"x-api-key", "a"}}, 999).ok());
  EXPECT_EQ(identify(snap, {{"x-api-key", "a"}}, 1000).failure, IdentifyFailure::kExpired);
  k = active();
  k.tenant_enabled = false;
  EXPECT_EQ(identify(snapshot_with("a", k), {{"x-api-key", "a"}}, 0).failure,
            IdentifyFailure::kTenantDisabled);
}

TEST(Identify, FailedChecksumIsRefusedWithoutALookup) {
  const std::string key = crypto::generate_relay_key();
  std::string typo = key;
  typo[20] = typo[20] == 'a' ? 'b' : 'a';
  // Even a snapshot that holds the typo's hash does not identify it: no lookup is made.
  auto snap = snapshot_with(typo, active());
  EXPECT_EQ(identify(snap, {{"x-api-key", typo}}, 0).failure, IdentifyFailure::kMalformed);
  snap = snapshot_with(key, active());
  EXPECT_TRUE(identify(snap, {{"x-api-key", key}}, 0).ok());
}

TEST(Identify, LegacyKeysStillWork) {
  const std::string legacy = "crk_Ab-_0123456789abcdefghijklmnopqrstuvwxyzABC";
  auto snap = snapshot_with(legacy, active());
  EXPECT_TRUE(identify(snap, {{"authorization", "Bearer " + legacy}}, 0).ok());
  EXPECT_TRUE(identify(snap, {{"authorization", "Bearer " + legacy}}, 0, true).ok());
}

TEST(Identify, AddressOverTheLimitStillGetsItsValidKeysServed) {
  const std::string key = crypto::generate_relay_key();
  auto snap = snapshot_with(key, active());
  snap.keys_by_hash.emplace(crypto::sha256_hex("crk_good"), active("other"));
  EXPECT_TRUE(identify(snap, {{"x-api-key", key}}, 0, true).ok());
  // A key shaped like nothing the relay issues is not even looked up from such an address.
  EXPECT_TRUE(identify(snap, {{"x-api-key", "crk_good"}}, 0, false).ok());
  EXPECT_EQ(identify(snap, {{"x-api-key", "crk_good"}}, 0, true).failure,
            IdentifyFailure::kMalformed);
  EXPECT_EQ(identify(snap, {}, 0, true).failure, IdentifyFailure::kMissing);
  EXPECT_EQ(identify(snap, {{"x-api-key", crypto::generate_relay_key()}}, 0, true).failure,
            IdentifyFailure::kUnknown);
}

TEST(Identify, FailureNames) {
  EXPECT_EQ(to_string(IdentifyFailure::kMalformed), "malformed_key");
  EXPECT_EQ(to_string(IdentifyFailure::kUnknown), "unknown_key");
}

TEST(RequestId, EchoesPlainIdsAndReplacesOthers) {
  EXPECT_EQ(request_id_for({{"x-request-id", "abc-123_x.y"}}), "abc-123_x.y");
  auto fresh = request_id_for({{"x-request-id", "has space"}});
  EXPECT_EQ(fresh.rfind("req_", 0), 0u);
  EXPECT_EQ(fresh.size(), 28u);
  EXPECT_NE(request_id_for({}), request_id_for({}));
  EXPECT_EQ(request_id_for({{"x-request-id", std::string(129, 'a')}}).rfind("req_", 0), 0u);
}

}  // namespace
}  // namespace relay
