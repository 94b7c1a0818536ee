// Binary encoding of WorkerOutcome (same machine, same build: native byte order).
#include "core/outcome_codec.hpp"

#include <cstring>

#include "core/errors.hpp"

namespace corescope {

namespace {
class Writer {
 public:
  std::vector<std::byte> out;
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  }
  template <class T>
  void pod(const T& v) {
    raw(&v, sizeof v);
  }
  void text(const std::string& s) {
    pod<std::uint64_t>(s.size());
    raw(s.data(), s.size());
  }
};

class Reader {
 public:
  Reader(const std::vector<std::byte>& d, std::size_t& pos) : d_(d), pos_(pos) {}
  void raw(void* p, std::size_t n) {
    if (pos_ + n > d_.size()) throw RuntimeFailure("truncated worker result");
    if (n == 0)
      return;  // an empty sample list has no storage: memcpy must not see its null pointer
    std::memcpy(p, d_.data() + pos_, n);
    pos_ += n;
  }
  template <class T>
  T pod() {
    T v;
    raw(&v, sizeof v);
    return v;
  }
  std::string text() {
    const auto n = pod<std::uint64_t>();
    if (n > d_.size() - pos_) throw RuntimeFailure("truncated worker result");
    std::string s(n, '\0');
    raw(s.data(), n);
    return s;
  }

 private:
  const std::vector<std::byte>& d_;
  std::size_t& pos_;
};
constexpr std::uint32_t kMagic = 0x43534f31;  // "CSO1"
}  // namespace

std::vector<std::byte> encode_outcome(const WorkerOutcome& o) {
  Writer w;
  w.pod(kMagic);
  w.pod<std::int32_t>(o.worker);
  w.pod<std::uint8_t>(o.completed);
  w.pod<std::uint8_t>(o.verified);
  w.pod(o.verify_error);
  w.text(o.verify_detail);
  w.text(o.error);
  w.text(o.team_memory);
  w.pod<std::uint64_t>(o.samples.size());
  w.raw(o.samples.data(), o.samples.size() * sizeof(Sample));
  w.pod<std::uint64_t>(o.metrics.size());
  for (const auto& m : o.metrics) {
    w.text(m.name);
    w.pod(m.value);
    w.text(m.units);
    w.text(m.long_name);
  }
  return std::move(w.out);
}

WorkerOutcome decode_outcome(const std::vector<std::byte>& data, std::size_t& pos) {
  Reader r(data, pos);
  if (r.pod<std::uint32_t>() != kMagic) throw RuntimeFailure("corrupt worker result");
  WorkerOutcome o;
  o.worker = r.pod<std::int32_t>();
  o.completed = r.pod<std::uint8_t>() != 0;
  o.verified = r.pod<std::uint8_t>() != 0;
  o.verify_error = r.pod<double>();
  o.verify_detail = r.text();
  o.error = r.text();
  o.team_memory = r.text();
  const auto n = r.pod<std::uint64_t>();
  if (n > data.size() / sizeof(Sample)) throw RuntimeFailure("corrupt worker result");
  o.samples.resize(n);
  r.raw(o.samples.data(), n * sizeof(Sample));
  const auto m = r.pod<std::uint64_t>();
  if (m > data.size()) throw RuntimeFailure("corrupt worker result");
  for (std::uint64_t i = 0; i < m; ++i) {
    Metric x;
    x.name = r.text();
    x.value = r.pod<double>();
    x.units = r.text();
    x.long_name = r.text();
    o.metrics.push_back(std::move(x));
  }
  return o;
}

}  // namespace corescope
