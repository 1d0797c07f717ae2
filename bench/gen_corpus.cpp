// gen_corpus: writes a deterministic directory tree shaped like a conda Python environment, for
// the layer benchmarks in bench/run.sh.
//
//   gen_corpus [--scale F] [--seed N] OUTDIR
//
// At scale 1 the tree holds about 45,000 regular files and 700 MB: many small .py sources and
// .pyc files under __pycache__, package metadata, C headers, extension modules of tens of KB, a
// few shared libraries of several MB, plus directories, symlinks (lib*.so -> lib*.so.N, bin/python)
// and a few hardlinks (licenses), like a real environment. --scale multiplies the number of files
// (sizes per file stay the same), so the total grows linearly with it.
//
// The contents are compressible the way real files are: sources are text made from a fixed
// vocabulary (gzip ~4x), binaries mix machine-code-like noise, tables, zero padding and string
// sections (gzip ~2-3x). The same scale and seed give byte-identical trees, including modes and
// mtimes, so runs compare like with like. OUTDIR must not exist yet (or be empty).

#include <sys/stat.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMtime = 1700000000;  // fixed timestamp for every entry

// splitmix64: small, fast, and the same everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Exponentially distributed size with the given mean, clamped to [lo, hi].
  std::size_t size_around(double mean, std::size_t lo, std::size_t hi) {
    double u = unit();
    if (u < 1e-12) u = 1e-12;
    auto s = static_cast<std::size_t>(-std::log(u) * mean);
    return std::clamp(s, lo, hi);
  }

 private:
  std::uint64_t state_;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "gen_corpus: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

struct Stats {
  std::uint64_t files = 0, bytes = 0, dirs = 0, symlinks = 0, hardlinks = 0;
};

class Generator {
 public:
  Generator(fs::path root, double scale, std::uint64_t seed)
      : root_(std::move(root)), scale_(scale), rng_(seed) {
    static constexpr std::string_view kWords[] = {
        "def",     "return",  "self",    "import",   "from",     "class",   "if",      "else",
        "elif",    "for",     "in",      "while",    "try",      "except",  "raise",   "with",
        "as",      "None",    "True",    "False",    "lambda",   "yield",   "not",     "and",
        "or",      "is",      "pass",    "assert",   "global",   "async",   "await",   "value",
        "result",  "data",    "array",   "index",    "shape",    "dtype",   "axis",    "kwargs",
        "args",    "name",    "path",    "config",   "options",  "buffer",  "stream",  "offset",
        "length",  "module",  "package", "version",  "request",  "response", "handler", "context",
        "parser",  "token",   "node",    "tree",     "visit",    "cache",   "key",     "item",
        "items",   "keys",    "values",  "append",   "extend",   "update",  "get",     "set",
        "len",     "range",   "isinstance", "dict", "list",     "tuple",   "str",     "int",
        "float",   "bytes",   "object",  "Exception", "TypeError", "ValueError", "os", "sys",
        "numpy",   "np",      "pd",      "frame",    "series",   "matrix",  "vector",  "compute",
        "_internal", "_impl", "_check",  "_validate", "_wrap",   "__init__", "__call__", "__repr__",
    };
    for (auto w : kWords) words_.emplace_back(w);
    // Synthetic identifiers so the vocabulary is as varied as real code.
    static constexpr std::string_view kSyllables[] = {"ar", "ba", "co", "de", "el", "fi", "go",
                                                      "ha", "io", "ju", "ka", "lo", "mu", "ne",
                                                      "or", "pi", "qu", "ra", "si", "tu"};
    for (int i = 0; i < 1500; ++i) {
      std::string w;
      int n = 2 + static_cast<int>(rng_.below(3));
      for (int j = 0; j < n; ++j) w += kSyllables[rng_.below(std::size(kSyllables))];
      if (rng_.below(3) == 0) w += "_" + std::string(kSyllables[rng_.below(std::size(kSyllables))]);
      words_.push_back(std::move(w));
    }
  }

  Stats run() {
    make_dir("");
    for (auto d : {"bin", "conda-meta", "include", "lib", "share", "ssl", "etc"}) make_dir(d);
    const std::string py = "lib/python3.12";
    make_dir(py);
    make_dir(py + "/site-packages");
    make_dir("include/python3.12");
    make_dir("share/licenses");

    // Interpreter and big shared libraries (the few files of several MB).
    write_binary("bin/python3.12", 6 << 20, 0755);
    make_symlink("python3.12", "bin/python3");
    make_symlink("python3.12", "bin/python");
    write_binary("lib/libpython3.12.so.1.0", 24 << 20, 0755);
    make_symlink("libpython3.12.so.1.0", "lib/libpython3.12.so");
    const std::size_t n_big = scaled(42);
    for (std::size_t i = 0; i < n_big; ++i) {
      const std::string base = "lib/lib" + word() + std::to_string(i);
      const std::size_t size = rng_.size_around(5.5 * (1 << 20), 1 << 20, 30 << 20);
      write_binary(base + ".so.1.2." + std::to_string(i % 7), size, 0755);
      make_symlink(fs::path(base + ".so.1.2." + std::to_string(i % 7)).filename().string(),
                   base + ".so.1");
      make_symlink(fs::path(base + ".so.1").filename().string(), base + ".so");
    }

    // C headers.
    for (std::size_t i = 0, n = scaled(600); i < n; ++i)
      write_text("include/python3.12/" + word() + std::to_string(i) + ".h",
                 rng_.size_around(6000, 200, 120000), 0644, '#');

    // Entry-point scripts.
    for (std::size_t i = 0, n = scaled(120); i < n; ++i)
      write_text("bin/" + word() + "-" + std::to_string(i), rng_.size_around(400, 200, 2000), 0755,
                 '!');

    // Standard library and site-packages: packages of nested modules with __pycache__.
    const std::size_t n_pkgs = scaled(150);
    // Budget of source modules in all packages: ~17,000 .py with as many .pyc.
    const std::size_t n_modules_total = scaled(17000);
    for (std::size_t p = 0; p < n_pkgs; ++p) {
      const std::string name = word() + std::to_string(p);
      const bool stdlib = p < n_pkgs / 5;
      const std::string pkg_root = stdlib ? py + "/" + name : py + "/site-packages/" + name;
      const std::size_t modules = std::max<std::size_t>(1, n_modules_total / n_pkgs / 2 +
                                                               rng_.below(n_modules_total / n_pkgs + 1));
      write_package(pkg_root, modules, 0);
      if (!stdlib) {
        const std::string info = py + "/site-packages/" + name + "-1." + std::to_string(p % 10) +
                                 ".dist-info";
        make_dir(info);
        write_text(info + "/METADATA", rng_.size_around(4000, 300, 40000), 0644, 'm');
        write_text(info + "/RECORD", 60 * modules + 200, 0644, 'r');
        write_text(info + "/WHEEL", 110, 0644, 'm');
        write_text(info + "/INSTALLER", 6, 0644, 'm');
        // Licenses are hardlinked between the package and share/licenses, as conda does.
        make_dir("share/licenses/" + name);
        write_text("share/licenses/" + name + "/LICENSE", rng_.size_around(3000, 800, 12000), 0644,
                   'm');
        make_hardlink("share/licenses/" + name + "/LICENSE", info + "/LICENSE");
      }
      write_text("conda-meta/" + name + "-1.0-py312_0.json", rng_.size_around(5000, 500, 60000),
                 0644, 'j');
    }

    // Extension modules of tens of KB spread over the packages.
    for (std::size_t i = 0, n = scaled(2500); i < n; ++i) {
      const std::string& dir = package_dirs_[rng_.below(package_dirs_.size())];
      write_binary(dir + "/_" + word() + std::to_string(i) + ".cpython-312-x86_64-linux-gnu.so",
                   rng_.size_around(60000, 4096, 2 << 20), 0755);
    }

    // Data files (json, txt, csv) in share/.
    for (std::size_t i = 0, n = scaled(3000); i < n; ++i) {
      const std::string dir = "share/" + words_[rng_.below(40)];
      if (!made_.contains(dir)) make_dir(dir);
      write_text(dir + "/" + word() + std::to_string(i) + ".txt", rng_.size_around(3000, 10, 80000),
                 0644, 'm');
    }

    // Directory mtimes last: creating entries in a directory changes its mtime.
    std::sort(dirs_.begin(), dirs_.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size() || (a.size() == b.size() && a < b);
    });
    for (const auto& d : dirs_) set_mtime(d, false);
    return stats_;
  }

 private:
  std::size_t scaled(double n) const {
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(n * scale_)));
  }
  // Words follow a skewed (roughly Zipf-like) distribution, as identifiers in real code do.
  const std::string& word() {
    const double u = rng_.unit();
    return words_[static_cast<std::size_t>(u * u * u * static_cast<double>(words_.size()))];
  }
  std::string full(const std::string& rel) const { return (root_ / rel).string(); }

  void make_dir(const std::string& rel) {
    const std::string p = rel.empty() ? root_.string() : full(rel);
    if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) fail("mkdir " + p);
    ::chmod(p.c_str(), 0755);
    made_.insert(rel);
    dirs_.push_back(p);
    ++stats_.dirs;
  }

  void write_package(const std::string& dir, std::size_t modules, int depth) {
    make_dir(dir);
    make_dir(dir + "/__pycache__");
    package_dirs_.push_back(dir);
    std::size_t here = modules;
    std::size_t sub = 0;
    if (depth < 3 && modules > 12) {
      sub = 1 + rng_.below(4);
      here = modules / (sub + 1);
    }
    write_module(dir, "__init__", 1500);
    for (std::size_t i = 0; i < here; ++i) write_module(dir, word() + std::to_string(i), 9000);
    for (std::size_t s = 0; s < sub; ++s)
      write_package(dir + "/" + word() + std::to_string(s), (modules - here) / sub, depth + 1);
  }

  void write_module(const std::string& dir, const std::string& name, double mean) {
    const std::size_t size = rng_.size_around(mean, 40, 400000);
    write_text(dir + "/" + name + ".py", size, 0644, 'p');
    // A .pyc is roughly 0.8x the source: marshalled code with the source's names and constants.
    write_pyc(dir + "/__pycache__/" + name + ".cpython-312.pyc", size * 4 / 5 + 16);
  }

  // Text in the style given by `kind`: p = python, # = C header, ! = script, j = json, m = prose,
  // r = RECORD lines.
  void fill_text(std::string& out, std::size_t size, char kind) {
    out.clear();
    out.reserve(size + 128);
    if (kind == '!') out += "#!/opt/conda/bin/python3.12\n# -*- coding: utf-8 -*-\nimport sys\n";
    if (kind == 'j') out += "{\n  \"name\": \"";
    int indent = 0;
    while (out.size() < size) {
      const std::uint64_t r = rng_.next();
      switch (kind) {
        case 'p':
        case '!':
          out.append(static_cast<std::size_t>(indent) * 4, ' ');
          if ((r & 15) == 0) {
            out += "def " + word() + "(self, " + word() + ", " + word() + "=None):\n";
            indent = 1;
          } else if ((r & 15) == 1) {
            out += "# " + word() + " " + word() + " " + word() + " " + word() + "\n";
          } else if ((r & 15) == 2) {
            out += "if " + word() + " is not None:\n";
            indent = std::min(indent + 1, 4);
          } else {
            out += word() + " = " + word() + "." + word() + "(" + word() + ", " +
                   std::to_string(r % 1000) + ")\n";
            if ((r & 0x300) == 0) indent = std::max(indent - 1, 0);
          }
          break;
        case '#':
          out += "#define " + word() + "_" + word() + " " + std::to_string(r % 65536) + "\n";
          if ((r & 7) == 0) out += "PyAPI_FUNC(PyObject *) Py" + word() + "(PyObject *, Py_ssize_t);\n";
          break;
        case 'j':
          out += "\"" + word() + "\": \"" + word() + "-" + std::to_string(r % 100) + "." +
                 std::to_string((r >> 8) % 100) + "\",\n  ";
          break;
        case 'r':
          out += "site-packages/" + word() + "/" + word() + ".py,sha256=";
          for (int i = 0; i < 43; ++i) out += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[rng_.below(64)];
          out += "," + std::to_string(r % 50000) + "\n";
          break;
        default:
          out += word() + " " + word() + " " + word() + ((r & 7) == 0 ? ".\n" : " ");
          break;
      }
    }
    out.resize(size);
    if (size > 0) out.back() = '\n';
  }

  void write_text(const std::string& rel, std::size_t size, mode_t mode, char kind) {
    fill_text(text_, size, kind);
    write_file(rel, text_.data(), text_.size(), mode);
  }

  void write_pyc(const std::string& rel, std::size_t size) {
    // Header, then marshal-like records: type bytes, small ints, and interned names.
    bin_.clear();
    bin_.reserve(size + 64);
    static constexpr char kHeader[] = "\xcb\x0d\x0d\x0a\0\0\0\0\0\xe1\x53\x65\x10\x27\0\0";
    bin_.append(kHeader, 16);
    while (bin_.size() < size) {
      const std::uint64_t r = rng_.next();
      if ((r & 1) == 0) {
        const std::string& w = word();
        bin_.push_back(static_cast<char>(0xda));
        bin_.push_back(static_cast<char>(w.size()));
        bin_.append(w);
      } else {
        static constexpr char kOps[] = "\x64\x00\x53\x00\x7c\x00\x83\x01\x5a\x01\x97\x00";
        for (int i = 0; i < 6; ++i) {
          const auto b = (r >> (8 * i + 2)) & 0xff;
          bin_.push_back(b < 160 ? kOps[b % 12] : static_cast<char>(b & 0x1f));
        }
      }
    }
    bin_.resize(size);
    write_file(rel, bin_.data(), bin_.size(), 0644);
  }

  void write_binary(const std::string& rel, std::size_t size, mode_t mode) {
    // 4 KiB blocks: ~45% code-like bytes, ~25% tables, ~15% zero padding, ~15% string sections.
    bin_.assign(size, '\0');
    std::size_t off = 0;
    while (off < size) {
      const std::size_t n = std::min<std::size_t>(4096, size - off);
      const std::uint64_t kind = rng_.below(100);
      char* p = bin_.data() + off;
      if (kind < 45) {
        // Machine code: noise with a skewed byte distribution (common opcodes/prefixes repeat).
        static constexpr unsigned char kCommon[] = {0x48, 0x89, 0x8b, 0xe8, 0x0f, 0x00, 0xff, 0x85,
                                                    0x74, 0x75, 0xc3, 0x41, 0x4c, 0x83, 0xc7, 0x24};
        for (std::size_t i = 0; i < n; i += 8) {
          std::uint64_t r = rng_.next();
          for (std::size_t j = 0; j < 8 && i + j < n; ++j, r >>= 8)
            p[i + j] = static_cast<char>((r & 0xe0) ? kCommon[r & 15] : (r & 0xff));
        }
      } else if (kind < 70) {
        // Relocation/symbol tables: ascending little-endian offsets with small strides.
        std::uint32_t v = static_cast<std::uint32_t>(rng_.next());
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
          v += static_cast<std::uint32_t>(8 + rng_.below(64));
          std::memcpy(p + i, &v, 4);
          const std::uint32_t info = static_cast<std::uint32_t>(rng_.below(512)) << 8 | 7;
          std::memcpy(p + i + 4, &info, 4);
        }
      } else if (kind < 85) {
        // Zero padding (already zero).
      } else {
        fill_text(text_, n, 'm');
        std::memcpy(p, text_.data(), n);
        for (std::size_t i = 0; i < n; i += 24) p[i] = '\0';
      }
      off += n;
    }
    if (size >= 4) std::memcpy(bin_.data(), "\x7f" "ELF", 4);
    write_file(rel, bin_.data(), bin_.size(), mode);
  }

  void write_file(const std::string& rel, const char* data, std::size_t size, mode_t mode) {
    const std::string p = full(rel);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open " + p);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t w = ::write(fd, data + done, size - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("write " + p);
      }
      done += static_cast<std::size_t>(w);
    }
    if (::fchmod(fd, mode) != 0) fail("chmod " + p);
    if (::close(fd) != 0) fail("close " + p);
    set_mtime(p, false);
    ++stats_.files;
    stats_.bytes += size;
  }

  void make_symlink(const std::string& target, const std::string& rel) {
    const std::string p = full(rel);
    if (::symlink(target.c_str(), p.c_str()) != 0) fail("symlink " + p);
    set_mtime(p, true);
    ++stats_.symlinks;
  }

  void make_hardlink(const std::string& existing_rel, const std::string& rel) {
    const std::string a = full(existing_rel), b = full(rel);
    if (::link(a.c_str(), b.c_str()) != 0) fail("link " + b);
    ++stats_.hardlinks;
  }

  static void set_mtime(const std::string& p, bool nofollow) {
    const struct timespec ts[2] = {{kMtime, 0}, {kMtime, 0}};
    if (::utimensat(AT_FDCWD, p.c_str(), ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0) != 0)
      fail("utimensat " + p);
  }

  struct StringSet {
    std::vector<std::string> v;
    bool contains(const std::string& s) const { return std::find(v.begin(), v.end(), s) != v.end(); }
    void insert(const std::string& s) {
      if (!contains(s)) v.push_back(s);
    }
  };

  fs::path root_;
  double scale_;
  Rng rng_;
  std::vector<std::string> words_;
  std::vector<std::string> package_dirs_;
  std::vector<std::string> dirs_;
  StringSet made_;  // only top-level share/ dirs are looked up here, so a vector is enough
  std::string text_;
  std::string bin_;
  Stats stats_;
};

void usage() {
  std::fprintf(stderr,
               "usage: gen_corpus [--scale F] [--seed N] OUTDIR\n"
               "  writes ~45k files / ~700 MB at scale 1 (files scale linearly with F)\n");
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  std::uint64_t seed = 42;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "--scale" || a == "--seed") && i + 1 < argc) {
      const char* v = argv[++i];
      char* end = nullptr;
      if (a == "--scale") {
        scale = std::strtod(v, &end);
        if (*end != '\0' || !(scale > 0)) {
          usage();
          return 2;
        }
      } else {
        seed = std::strtoull(v, &end, 10);
        if (*end != '\0') {
          usage();
          return 2;
        }
      }
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else if (!a.empty() && a[0] != '-' && out.empty()) {
      out = a;
    } else {
      usage();
      return 2;
    }
  }
  if (out.empty()) {
    usage();
    return 2;
  }
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec)) {
    std::fprintf(stderr, "gen_corpus: %s exists and is not empty\n", out.c_str());
    return 1;
  }
  ::umask(022);
  const Stats s = Generator(out, scale, seed).run();
  std::printf("gen_corpus: %s: %llu files (%.1f MB), %llu dirs, %llu symlinks, %llu hardlinks\n",
              out.c_str(), static_cast<unsigned long long>(s.files),
              static_cast<double>(s.bytes) / 1e6, static_cast<unsigned long long>(s.dirs),
              static_cast<unsigned long long>(s.symlinks),
              static_cast<unsigned long long>(s.hardlinks));
  return 0;
}
