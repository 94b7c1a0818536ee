// iowait: I/O-bound work. Each iteration the team performs --size real blocking waits (split
// among the workers), each inside Worker::blocking() — the Python thread that calls time.sleep,
// writes a file and fsyncs it, or waits on a pipe. In gil mode the GIL is free during the wait,
// so threads overlap their waits and speed up although only one of them can compute at a time.
//   wait=sleep  a timed sleep of wait_us on the monotonic clock;
//   wait=fsync  a 4 KiB pwrite to the worker's own file in a private temp directory, then fsync;
//   wait=pipe   a wait of up to wait_us for data on the worker's own pipe (ppoll, as select()
//               with a timeout does), then an 8-byte token written and read back through it.
// Verification: every wait happened and lasted at least wait_us (sleep, pipe); every token came
// back intact (pipe); the file holds exactly the bytes the last writes put there (fsync). The
// temp directory and the pipe are gone when verification returns.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/run.hpp"
#include "kernels/kernel_util.hpp"
#include "kernels/wait_util.hpp"

namespace corescope::kernel_lib {

namespace {

enum class WaitKind { sleep, fsync, pipe };

constexpr std::size_t kBlockBytes = 4096;
constexpr std::size_t kBlockWords = kBlockBytes / sizeof(std::uint64_t);
constexpr std::uint64_t kFileSlots = 256;  // the file is a ring of 256 blocks (1 MiB at most)

// Word j of the block that wait number `n` of worker `id` writes.
std::uint64_t block_word(int id, std::uint64_t n, std::size_t j) {
  return mix64((static_cast<std::uint64_t>(id) << 48) ^ (n * kBlockWords + j));
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

class IoWait : public Kernel {
 public:
  ~IoWait() override { cleanup(); }

  void setup(Worker& w, const Params& p) override {
    const std::string& kind = p.get("wait");
    kind_ = kind == "fsync" ? WaitKind::fsync : kind == "pipe" ? WaitKind::pipe : WaitKind::sleep;
    wait_ns_ = p.get_int("wait_us") * 1000;
    id_ = w.id();
    mine_ = block_range(p.size, w.count(), w.id()).size();
    expected_ = mine_ * static_cast<std::uint64_t>(p.warmup + p.reps);
    if (kind_ == WaitKind::fsync) open_file();
    if (kind_ == WaitKind::pipe && ::pipe2(pipe_.data(), O_CLOEXEC) != 0)
      throw RuntimeFailure(errno_text("iowait: pipe2"));
  }

  void iterate(Worker& w) override {
    for (std::size_t i = 0; i < mine_; ++i) {
      switch (kind_) {
        case WaitKind::sleep: note_duration(w.blocking([&] { return sleep_ns(wait_ns_); })); break;
        case WaitKind::fsync: write_and_sync(w); break;
        case WaitKind::pipe: wait_on_pipe(w); break;
      }
      ++done_;
      w.yield_point();
    }
  }

  Verification verify(Worker&) override {
    Verification v;
    v.ok = true;
    auto fail = [&](const std::string& why) {
      if (v.ok) v.detail = "worker " + std::to_string(id_) + ": " + why;
      v.ok = false;
    };
    if (done_ != expected_)
      fail(std::to_string(done_) + " waits done, expected " + std::to_string(expected_));
    const double wanted = static_cast<double>(wait_ns_) * 1e-9;
    if (kind_ != WaitKind::fsync && done_ > 0 && shortest_s_ < wanted) {
      v.error = wanted - shortest_s_;
      fail("a wait lasted " + std::to_string(shortest_s_) + " s, less than the " +
           std::to_string(wanted) + " s asked for");
    }
    if (bad_tokens_ > 0) fail(std::to_string(bad_tokens_) + " pipe tokens came back wrong");
    if (kind_ == WaitKind::fsync) {
      const std::string why = check_file();
      if (!why.empty()) fail(why);
    }
    cleanup();
    return v;
  }

 private:
  void open_file() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "corescope-iowait-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw RuntimeFailure(errno_text("iowait: mkdtemp"));
    dir_ = pattern;
    const std::string file = dir_ + "/worker" + std::to_string(id_);
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) throw RuntimeFailure(errno_text("iowait: open"));
    block_.resize(kBlockWords);
  }

  void note_duration(double s) { shortest_s_ = std::min(shortest_s_, s); }

  void write_and_sync(Worker& w) {
    // Preparing the data is Python-level work: it runs holding the GIL.
    for (std::size_t j = 0; j < kBlockWords; ++j) block_[j] = block_word(id_, done_, j);
    const auto offset = static_cast<off_t>((done_ % kFileSlots) * kBlockBytes);
    const int err = w.blocking([&] {
      if (::pwrite(fd_, block_.data(), kBlockBytes, offset) != static_cast<ssize_t>(kBlockBytes))
        return errno ? errno : EIO;
      return ::fsync(fd_) == 0 ? 0 : errno;
    });
    if (err != 0) throw RuntimeFailure("iowait: write+fsync: " + std::string(std::strerror(err)));
  }

  void wait_on_pipe(Worker& w) {
    const std::uint64_t token = mix64(done_ ^ (static_cast<std::uint64_t>(id_) << 40));
    std::uint64_t back = 0;
    int err = 0;
    const double waited = w.blocking([&] {
      const auto t0 = WaitClock::now();
      pollfd pfd{pipe_[0], POLLIN, 0};
      const timespec timeout{static_cast<time_t>(wait_ns_ / 1000000000),
                             static_cast<long>(wait_ns_ % 1000000000)};
      // Nothing was written, so this returns when the timeout expires (or early on a signal:
      // then the wait is too short and verification says so).
      if (::ppoll(&pfd, 1, &timeout, nullptr) < 0 && errno != EINTR) err = errno;
      const double s = seconds_between(t0, WaitClock::now());
      if (err == 0 && ::write(pipe_[1], &token, sizeof token) != static_cast<ssize_t>(sizeof token))
        err = errno ? errno : EIO;
      if (err == 0 && ::read(pipe_[0], &back, sizeof back) != static_cast<ssize_t>(sizeof back))
        err = errno ? errno : EIO;
      return s;
    });
    if (err != 0) throw RuntimeFailure("iowait: pipe: " + std::string(std::strerror(err)));
    note_duration(waited);
    if (back != token) ++bad_tokens_;
  }

  // The last write to each slot of the ring must be there, byte for byte.
  std::string check_file() {
    if (fd_ < 0) return "the file is not open";
    std::vector<std::uint64_t> got(kBlockWords);
    const std::uint64_t slots = std::min<std::uint64_t>(done_, kFileSlots);
    for (std::uint64_t slot = 0; slot < slots; ++slot) {
      const std::uint64_t last = slot + (done_ - 1 - slot) / kFileSlots * kFileSlots;
      const auto offset = static_cast<off_t>(slot * kBlockBytes);
      if (::pread(fd_, got.data(), kBlockBytes, offset) != static_cast<ssize_t>(kBlockBytes))
        return "block " + std::to_string(slot) + " of the file could not be read back";
      for (std::size_t j = 0; j < kBlockWords; ++j)
        if (got[j] != block_word(id_, last, j))
          return "block " + std::to_string(slot) + " of the file holds wrong bytes";
    }
    const off_t size = ::lseek(fd_, 0, SEEK_END);
    if (size != static_cast<off_t>(slots * kBlockBytes))
      return "the file has " + std::to_string(size) + " bytes, expected " +
             std::to_string(slots * kBlockBytes);
    return "";
  }

  void cleanup() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    for (int& p : pipe_) {
      if (p >= 0) ::close(p);
      p = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;  // best effort: a destructor must not throw
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  WaitKind kind_ = WaitKind::sleep;
  std::int64_t wait_ns_ = 0;
  int id_ = 0;
  std::size_t mine_ = 0;
  std::uint64_t expected_ = 0, done_ = 0, bad_tokens_ = 0;
  double shortest_s_ = std::numeric_limits<double>::infinity();
  std::string dir_;
  int fd_ = -1;
  std::array<int, 2> pipe_{-1, -1};
  std::vector<std::uint64_t> block_;
};

}  // namespace

KernelInfo iowait_kernel() {
  KernelInfo k;
  k.name = "iowait";
  k.category = "I/O-bound";
  k.description =
      "real blocking waits (sleep, file write + fsync, pipe) inside blocking(): threads overlap "
      "them";
  k.size_unit = "waits per iteration";
  k.params = {
      {"wait", "sleep", {"sleep", "fsync", "pipe"}, "what each wait is"},
      {"wait_us", "1000", {}, "duration of a sleep or pipe wait in microseconds (1..10000000)"}};
  k.size_for_class = fixed_size_classes(8, 64, 1024);
  k.memory_bytes = [](const Params&, int workers) {
    return static_cast<double>(kBlockBytes) * workers;
  };
  k.cost = [](const Params&, int) { return Cost{0.0, 0.0}; };  // waiting is the point: no rate
  k.validate = [](const RunSpec& spec) {
    const Params& p = spec.params;
    require_positive_size(p, "iowait");
    int_param_in(p, "iowait", "wait_us", 1, 10000000);
  };
  k.make = [] { return std::make_unique<IoWait>(); };
  return k;
}

}  // namespace corescope::kernel_lib
