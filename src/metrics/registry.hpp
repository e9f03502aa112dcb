#pragma once
// A small, thread-safe metrics kit: counter and histogram families with labels, rendered in the
// Prometheus text format (docs/metrics.md). Debian 12 packages no Prometheus client library, so
// the relay carries this one.
//
// Bounded label sets: a family holds at most max_series series. Until one slot is left, each
// new label set gets its own series; after that, a new label set is counted in the series whose
// every label value is "other" (kOther), so sums over the family stay right while the number of
// series (and the scrape's size) stays bounded whatever clients send.
//
// Each update takes the family's mutex once; when the series exists it only hashes a key built
// before the lock (in a buffer per thread) and bumps numbers, without allocating.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/text_format.hpp"

namespace relay::metrics {

// What counter and histogram families share: a name, label names and the bounded map from
// label sets to series slots.
class Family {
 public:
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  std::size_t series_count() const;

 protected:
  // Throws std::invalid_argument for an empty name or max_series 0.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_series);
  ~Family() = default;

  // The key of a label set: its sanitized values joined by '\xff', a byte sanitized text never
  // holds. Throws std::invalid_argument when the count differs from the label names'.
  // Built in a buffer per thread, valid until the thread's next key_for.
  std::string_view key_for(std::span<const std::string_view> label_values) const;
  // The slot of `key`, created if needed or folded into "other" past the cap. `created` tells
  // the caller to append the slot's storage (slots are numbered from 0 in creation order).
  // Caller holds mu_.
  std::size_t slot_locked(std::string_view key, bool& created);
  // The label values of every series, sorted, each with its slot. Caller holds mu_.
  std::vector<std::pair<std::vector<std::string>, std::size_t>> series_locked() const;
  void append_header(std::string& out, std::string_view type) const;
  // The family's labels with these values, plus one extra label when extra.name is non-empty.
  std::vector<Label> labels(const std::vector<std::string>& values, Label extra = {}) const;

  mutable std::mutex mu_;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::size_t max_series_;
  std::string other_key_;
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::size_t, KeyHash, std::equal_to<>> slots_;
};

class CounterFamily : public Family {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                std::size_t max_series);

  // Adds delta (ignored unless finite and >= 0: a counter only goes up) to the series of these
  // label values, one per label name, in the same order.
  void add(std::span<const std::string_view> label_values, double delta = 1);
  void add(std::initializer_list<std::string_view> label_values, double delta = 1) {
    add(std::span<const std::string_view>(label_values.begin(), label_values.size()), delta);
  }
  void render(std::string& out) const;

 private:
  std::vector<double> values_;  // by slot
};

class HistogramFamily : public Family {
 public:
  // `bounds` are the buckets' upper bounds (le); they are sorted, and duplicates and non-finite
  // values dropped: +Inf is always the last bucket.
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds, std::size_t max_series);

  // Counts value (ignored when NaN) in the first bucket whose bound is >= value.
  void observe(std::span<const std::string_view> label_values, double value);
  void observe(std::initializer_list<std::string_view> label_values, double value) {
    observe(std::span<const std::string_view>(label_values.begin(), label_values.size()), value);
  }
  void render(std::string& out) const;

 private:
  struct Series {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative (+Inf is `count`)
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::vector<double> bounds_;
  std::vector<Series> series_;  // by slot
};

}  // namespace relay::metrics
