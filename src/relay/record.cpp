#include "relay/record.hpp"

namespace relay {

void RecordSink::write(const records::UsageRecord& record) const {
  if (queue_) queue_->push(record);
  if (observe_) observe_(record);
}

records::UsageRecord make_record(const RequestContext& ctx, std::string_view node,
                                 std::string_view region,
                                 std::chrono::steady_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  records::UsageRecord r;
  r.request_id = ctx.request_id;
  r.start_ms = ctx.started_unix_ms;
  r.node = node;
  r.region = region;
  if (ctx.key) {
    r.tenant = ctx.key->tenant_name;
    r.key_id = ctx.key->key_id;
  }
  if (ctx.account) r.account = ctx.account->name;
  r.egress = ctx.egress;
  r.model = ctx.body.model;
  r.endpoint = ctx.path;
  r.stream = ctx.body.stream;
  r.status = ctx.status;
  r.error_code = ctx.error_code;
  r.attempts = ctx.attempts;
  r.ttfb_ms = ctx.first_byte ? ctx.first_byte->count() : -1;
  r.duration_ms = duration_cast<milliseconds>(now - ctx.started).count();
  r.bytes_in = ctx.bytes_in;
  r.bytes_out = ctx.bytes_out;
  r.input_tokens = ctx.usage.input_tokens;
  r.cached_tokens = ctx.usage.cached_tokens;
  r.output_tokens = ctx.usage.output_tokens;
  r.reasoning_tokens = ctx.usage.reasoning_tokens;
  r.usage_incomplete = ctx.usage_expected && !ctx.usage.present;
  r.client_family = ctx.client_family;
  return r;
}

void record_once(RequestContext& ctx) {
  if (!ctx.records || ctx.recorded) return;
  ctx.recorded = true;
  ctx.records->write(make_record(ctx, ctx.records->node(), ctx.records->region(),
                                 std::chrono::steady_clock::now()));
}

}  // namespace relay
