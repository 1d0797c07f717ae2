// gen_channel: writes a deterministic local conda channel of valid `.conda` packages shaped like a
// Python stack, for the install and build benchmarks (bench/install.sh).
//
//   gen_channel [--scale F] [--seed N] [--level L] [--big-package FILES] OUTDIR
//
// OUTDIR receives
//   linux-64/*.conda, noarch/*.conda      the packages
//   linux-64/repodata.json, noarch/...    repodata v1 ("packages.conda", with md5, sha256, size)
//   explicit.txt                          an @EXPLICIT file listing every package (file:// URLs
//                                         with #sha256 fragments) in dependency order
//   packages.txt                          the package file paths, one per line, same order
//
// At scale 1 the channel holds about 100 packages and 45,000 files, ~700 MB once extracted: a
// python interpreter with its standard library, a few native libraries of several MB (shared
// objects with symlinks), a few packages with many extension modules (numpy/scipy-like), and many
// small noarch: python packages (site-packages/, dist-info, some with entry points in
// info/link.json). Some files carry a prefix placeholder (text: scripts, .pc and sysconfig files;
// binary: a C string in shared objects), listed in info/paths.json as conda-build does.
// --scale multiplies the number of small packages and of files per package. --big-package FILES
// adds one more package, `bigtree` (linux-64, last in the lock), holding FILES small Python modules
// (~2 KB each) under site-packages/bigtree/: the shape of an environment where one package holds
// most of the files (a Python installation with its standard library and tests), for the warm
// rebuild rows of bench/build.sh. The other packages are the same bytes with or without it.
//
// Each .conda is a stored (uncompressed) zip holding metadata.json, info-<dist>.tar.zst (info/
// index.json, paths.json, link.json, ...) and pkg-<dist>.tar.zst (the payload), compressed with
// zstd at --level (default 3; decompression speed hardly depends on the level, and level 19 would
// make generating the channel take minutes). The same scale, seed and level give byte-identical
// files. OUTDIR must not exist yet (or be empty).

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMtime = 1700000000;  // fixed timestamp for every entry
constexpr std::int64_t kTimestampMs = kMtime * 1000;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "gen_channel: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

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

// ---- hashing, JSON -------------------------------------------------------------------------

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) die("EVP_Digest");
  return hex(out, n);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string string_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}

// ---- tar (ustar) and zip (stored) ----------------------------------------------------------

struct Entry {
  enum class Type { File, Symlink } type = Type::File;
  std::string path;
  std::string data;  // file content, or the symlink target
  unsigned mode = 0644;
};

// A zero-padded octal number of width - 1 digits and a NUL, as ustar numeric fields are.
void octal(char* field, std::size_t width, std::uint64_t v) {
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
}

void append_tar_entry(std::string& out, const Entry& e) {
  char h[512] = {};
  std::string_view name = e.path, prefix;
  if (name.size() > 100) {
    // ustar: split at a '/' so that the prefix has <= 155 bytes and the name <= 100.
    auto slash = name.find('/', name.size() - 101);
    if (slash == std::string_view::npos || slash > 155) {
      errno = ENAMETOOLONG;
      die("tar path " + e.path);
    }
    prefix = name.substr(0, slash);
    name = name.substr(slash + 1);
  }
  std::memcpy(h, name.data(), name.size());
  octal(h + 100, 8, e.type == Entry::Type::Symlink ? 0777 : e.mode);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, e.type == Entry::Type::File ? e.data.size() : 0);
  octal(h + 136, 12, kMtime);
  std::memset(h + 148, ' ', 8);
  h[156] = e.type == Entry::Type::Symlink ? '2' : '0';
  if (e.type == Entry::Type::Symlink) std::memcpy(h + 157, e.data.data(), std::min<std::size_t>(e.data.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  octal(h + 148, 7, sum);  // six digits, NUL, and the space already there
  out.append(h, 512);
  if (e.type == Entry::Type::File) {
    out += e.data;
    out.append((512 - e.data.size() % 512) % 512, '\0');
  }
}

std::string make_tar_zst(const std::vector<Entry>& entries, int level) {
  std::string tar;
  std::size_t total = 1024;
  for (const auto& e : entries) total += 1024 + e.data.size();
  tar.reserve(total);
  for (const auto& e : entries) append_tar_entry(tar, e);
  tar.append(1024, '\0');
  std::string out(ZSTD_compressBound(tar.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), tar.data(), tar.size(), level);
  if (ZSTD_isError(n)) {
    std::fprintf(stderr, "gen_channel: zstd: %s\n", ZSTD_getErrorName(n));
    std::exit(1);
  }
  out.resize(n);
  return out;
}

std::uint32_t crc32(std::string_view data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void le16(std::string& s, unsigned v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void le32(std::string& s, std::uint32_t v) {
  le16(s, v & 0xffff);
  le16(s, v >> 16);
}

// A zip of stored members, as conda-package-handling writes `.conda` files.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out, central;
  constexpr unsigned kDosTime = 0, kDosDate = (44 << 9) | (1 << 5) | 1;  // 2024-01-01 00:00
  for (const auto& [name, data] : members) {
    if (data.size() >= 0xffffffffu) {
      errno = EFBIG;
      die("zip member " + name);
    }
    const std::uint32_t crc = crc32(data), offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(data.size());
    le32(out, 0x04034b50);
    le16(out, 20), le16(out, 0), le16(out, 0), le16(out, kDosTime), le16(out, kDosDate);
    le32(out, crc), le32(out, size), le32(out, size);
    le16(out, static_cast<unsigned>(name.size())), le16(out, 0);
    out += name;
    out += data;
    le32(central, 0x02014b50);
    le16(central, 20), le16(central, 20), le16(central, 0), le16(central, 0);
    le16(central, kDosTime), le16(central, kDosDate);
    le32(central, crc), le32(central, size), le32(central, size);
    le16(central, static_cast<unsigned>(name.size())), le16(central, 0), le16(central, 0);
    le16(central, 0), le16(central, 0), le32(central, 0100644u << 16), le32(central, offset);
    central += name;
  }
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  le32(out, 0x06054b50);
  le16(out, 0), le16(out, 0);
  le16(out, static_cast<unsigned>(members.size())), le16(out, static_cast<unsigned>(members.size()));
  le32(out, static_cast<std::uint32_t>(central.size())), le32(out, cd_offset);
  le16(out, 0);
  return out;
}

void write_file(const fs::path& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path.string());
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write " + path.string());
    }
    done += static_cast<std::size_t>(w);
  }
  if (::close(fd) != 0) die("close " + path.string());
}

// ---- package contents ----------------------------------------------------------------------

struct Package {
  std::string name, version, build;
  std::string subdir = "linux-64";
  bool noarch_python = false;
  std::vector<std::string> depends;
  std::vector<std::string> entry_points;  // "name = module:func"
  std::vector<Entry> files;
  // Paths (in files) with the placeholder, and whether binary.
  std::map<std::string, bool> prefixed;
  std::string dist() const { return name + "-" + version + "-" + build; }
};

struct Record {
  std::string fn, subdir, json_fields;  // json_fields: the repodata record without md5/sha/size
  std::string md5, sha256;
  std::size_t size = 0;
};

class Generator {
 public:
  Generator(fs::path out, double scale, std::uint64_t seed, int level, std::size_t big_files)
      : out_(std::move(out)), scale_(scale), level_(level), big_files_(big_files), rng_(seed) {
    static constexpr std::string_view kWords[] = {
        "def",    "return", "self",   "import", "from",    "class",  "if",      "else",   "elif",
        "for",    "in",     "while",  "try",    "except",  "raise",  "with",    "as",     "None",
        "True",   "False",  "lambda", "yield",  "not",     "and",    "or",      "is",     "pass",
        "value",  "result", "data",   "array",  "index",   "shape",  "dtype",   "axis",   "kwargs",
        "args",   "name",   "path",   "config", "options", "buffer", "stream",  "offset", "length",
        "module", "parser", "token",  "node",   "tree",    "cache",  "key",     "item",   "items",
        "append", "extend", "update", "get",    "set",     "len",    "range",   "dict",   "list",
        "str",    "int",    "float",  "bytes",  "object",  "os",     "sys",     "numpy",  "np",
        "_impl",  "_check", "_wrap",  "__init__"};
    for (auto w : kWords) words_.emplace_back(w);
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
    // conda-build's long placeholder (255 bytes), so binary replacement has room.
    placeholder_ = "/home/conda/feedstock_root/build_artifacts/bench_1700000000000/_h_env_placehold";
    while (placeholder_.size() < 255) placeholder_ += "_placehold";
    placeholder_.resize(255);
  }

  void run() {
    fs::create_directories(out_ / "linux-64");
    fs::create_directories(out_ / "noarch");
    std::vector<std::string> order;  // fn paths relative to out_, dependency order

    auto emit = [&](Package& p) { order.push_back(write_package(p)); };

    // Base native libraries.
    const char* natives[][2] = {{"libgcc-ng", "13.2.0"},  {"libstdcxx-ng", "13.2.0"},
                                {"libzlib", "1.3.1"},     {"openssl", "3.2.1"},
                                {"libsqlite", "3.45.1"},  {"libffi", "3.4.2"},
                                {"ncurses", "6.4"},       {"readline", "8.2"},
                                {"tk", "8.6.13"},         {"xz", "5.2.6"},
                                {"libopenblas", "0.3.26"}, {"libgfortran5", "13.2.0"}};
    std::vector<std::string> native_names;
    for (auto& [name, version] : natives) {
      Package p = native_package(name, version);
      native_names.push_back(name);
      emit(p);
    }
    {
      Package p = python_package(native_names);
      emit(p);
    }
    {
      Package p = simple("python_abi", "3.12", "4_cp312", "linux-64");
      p.files.push_back({Entry::Type::File, "share/python_abi/README", "cp312\n", 0644});
      emit(p);
    }
    // Python packages with many extension modules.
    const char* exts[][3] = {{"numpy", "1.26.4", "45"},       {"scipy", "1.12.0", "80"},
                             {"pandas", "2.2.1", "55"},       {"matplotlib-base", "3.8.3", "35"},
                             {"pillow", "10.2.0", "12"},      {"pyarrow", "15.0.0", "60"}};
    std::vector<std::string> ext_names;
    for (auto& [name, version, mb] : exts) {
      Package p = extension_package(name, version, static_cast<std::size_t>(std::atoi(mb)));
      ext_names.push_back(name);
      emit(p);
    }
    // Many small pure-python packages.
    const std::size_t n_small = scaled(78);
    for (std::size_t i = 0; i < n_small; ++i) {
      Package p = noarch_package(i, ext_names);
      emit(p);
    }
    if (big_files_ > 0) {
      Package p = big_package(big_files_);
      emit(p);
    }

    std::map<std::string, std::vector<const Record*>> by_subdir;
    for (const auto& r : records_) by_subdir[r.subdir].push_back(&r);
    for (const char* subdir : {"linux-64", "noarch"}) {
      std::string j = "{\n  \"info\": {\"subdir\": " + quote(subdir) + "},\n  \"packages\": {},\n" +
                      "  \"packages.conda\": {";
      bool first = true;
      for (const Record* r : by_subdir[subdir]) {
        j += first ? "\n" : ",\n";
        first = false;
        j += "    " + quote(r->fn) + ": {" + r->json_fields + ", \"md5\": " + quote(r->md5) +
             ", \"sha256\": " + quote(r->sha256) + ", \"size\": " + std::to_string(r->size) + "}";
      }
      j += "\n  },\n  \"removed\": [],\n  \"repodata_version\": 1\n}\n";
      write_file(out_ / subdir / "repodata.json", j);
    }
    const std::string abs = fs::absolute(out_).lexically_normal().string();
    std::string explicit_file =
        "# This file may be used to create an environment using:\n"
        "# $ conda create --name <env> --file <this file>\n# platform: linux-64\n@EXPLICIT\n";
    std::string list;
    for (std::size_t i = 0; i < order.size(); ++i) {
      explicit_file += "file://" + abs + "/" + order[i] + "#sha256:" + records_[i].sha256 + "\n";
      list += abs + "/" + order[i] + "\n";
    }
    write_file(out_ / "explicit.txt", explicit_file);
    write_file(out_ / "packages.txt", list);
    std::printf("gen_channel: %s: %zu packages (%.1f MB), %zu files (%.1f MB extracted)\n",
                out_.c_str(), records_.size(), static_cast<double>(package_bytes_) / 1e6,
                files_, static_cast<double>(payload_bytes_) / 1e6);
  }

 private:
  std::size_t scaled(double n) const {
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(n * scale_)));
  }
  const std::string& word() {
    const double u = rng_.unit();
    return words_[static_cast<std::size_t>(u * u * u * static_cast<double>(words_.size()))];
  }

  Package simple(std::string name, std::string version, std::string build, std::string subdir) {
    Package p;
    p.name = std::move(name);
    p.version = std::move(version);
    p.build = std::move(build);
    p.subdir = std::move(subdir);
    return p;
  }

  void add_file(Package& p, std::string path, std::string data, unsigned mode = 0644) {
    p.files.push_back({Entry::Type::File, std::move(path), std::move(data), mode});
  }
  void add_symlink(Package& p, std::string path, std::string target) {
    p.files.push_back({Entry::Type::Symlink, std::move(path), std::move(target), 0777});
  }
  void add_license(Package& p) {
    add_file(p, "info/licenses/LICENSE", text(rng_.size_around(3000, 800, 12000), 'm'));
  }

  Package native_package(const std::string& name, const std::string& version) {
    Package p = simple(name, version, "h" + std::to_string(1000 + rng_.below(9000)) + "_0", "linux-64");
    if (name != "libgcc-ng") p.depends = {"libgcc-ng >=12"};
    const std::string lib = name.starts_with("lib") ? name.substr(3) : name;
    const std::size_t n_so = 1 + rng_.below(3);
    for (std::size_t i = 0; i < n_so; ++i) {
      const std::string so = "lib/lib" + lib + (i ? std::to_string(i) : "") + ".so";
      const std::size_t size = rng_.size_around(4.0 * (1 << 20), 256 << 10, 24 << 20);
      add_file(p, so + ".3." + std::to_string(i), binary(size, i == 0), 0755);
      if (i == 0) p.prefixed[so + ".3." + std::to_string(i)] = true;
      add_symlink(p, so + ".3", "lib" + lib + (i ? std::to_string(i) : "") + ".so.3." + std::to_string(i));
      add_symlink(p, so, "lib" + lib + (i ? std::to_string(i) : "") + ".so.3");
    }
    for (std::size_t i = 0, n = scaled(20 + rng_.below(60)); i < n; ++i)
      add_file(p, "include/" + lib + "/" + word() + std::to_string(i) + ".h",
               text(rng_.size_around(5000, 200, 60000), '#'));
    std::string pc = "prefix=" + placeholder_ + "\nlibdir=${prefix}/lib\nincludedir=${prefix}/include\n\nName: " +
                     name + "\nVersion: " + version + "\nLibs: -L${libdir} -l" + lib + "\n";
    add_file(p, "lib/pkgconfig/" + lib + ".pc", pc);
    p.prefixed["lib/pkgconfig/" + lib + ".pc"] = false;
    for (std::size_t i = 0, n = scaled(static_cast<double>(rng_.below(40))); i < n; ++i)
      add_file(p, "share/man/man3/" + lib + "_" + word() + std::to_string(i) + ".3",
               text(rng_.size_around(4000, 100, 40000), 'm'));
    add_license(p);
    return p;
  }

  Package python_package(const std::vector<std::string>& natives) {
    Package p = simple("python", "3.12.2", "hab00c5b_0_cpython", "linux-64");
    for (const auto& n : natives)
      if (n != "libopenblas" && n != "libgfortran5") p.depends.push_back(n);
    add_file(p, "bin/python3.12", binary(6 << 20, true), 0755);
    p.prefixed["bin/python3.12"] = true;
    add_symlink(p, "bin/python3", "python3.12");
    add_symlink(p, "bin/python", "python3.12");
    add_file(p, "lib/libpython3.12.so.1.0", binary(24 << 20, true), 0755);
    p.prefixed["lib/libpython3.12.so.1.0"] = true;
    add_symlink(p, "lib/libpython3.12.so", "libpython3.12.so.1.0");
    for (const char* s : {"bin/python3.12-config", "bin/idle3.12", "bin/pydoc3.12", "bin/2to3-3.12"}) {
      add_file(p, s, "#!" + placeholder_ + "/bin/python3.12\n" + text(rng_.size_around(2000, 200, 8000), 'p'), 0755);
      p.prefixed[s] = false;
    }
    const std::string sysconfig = "lib/python3.12/_sysconfigdata__linux_x86_64-linux-gnu.py";
    add_file(p, sysconfig, "build_time_vars = {'prefix': '" + placeholder_ + "',\n 'LIBDIR': '" +
                               placeholder_ + "/lib',\n" + text(60000, 'p'));
    p.prefixed[sysconfig] = false;
    for (std::size_t i = 0, n = scaled(200); i < n; ++i)
      add_file(p, "include/python3.12/" + word() + std::to_string(i) + ".h",
               text(rng_.size_around(6000, 200, 120000), '#'));
    for (std::size_t i = 0, n = scaled(70); i < n; ++i)
      add_file(p, "lib/python3.12/lib-dynload/_" + word() + std::to_string(i) + ".cpython-312-x86_64-linux-gnu.so",
               binary(rng_.size_around(90000, 8192, 2 << 20), false), 0755);
    // The standard library: ~3,000 modules with their .pyc.
    const std::size_t n_pkgs = scaled(120);
    for (std::size_t i = 0; i < n_pkgs; ++i)
      python_tree(p, "lib/python3.12/" + word() + std::to_string(i), 10 + rng_.below(90), 0);
    add_file(p, "lib/python3.12/site-packages/README.txt", "This directory exists so that 3rd party packages can be installed\nhere.  Read the source for site.py for more details.\n");
    add_license(p);
    return p;
  }

  Package big_package(std::size_t files) {
    Package p = simple("bigtree", "1.0.0", "py312_0", "linux-64");
    p.depends = {"python >=3.12,<3.13.0a0"};
    const std::string root = "lib/python3.12/site-packages/bigtree/";
    for (std::size_t i = 0; i < files; ++i)
      add_file(p, root + "d" + std::to_string(i / 200) + "/" + word() + std::to_string(i) + ".py",
               text(rng_.size_around(2000, 40, 40000), 'p'));
    add_license(p);
    return p;
  }

  Package extension_package(const std::string& name, const std::string& version, std::size_t mb) {
    Package p = simple(name, version, "py312h" + std::to_string(1000 + rng_.below(9000)) + "_0", "linux-64");
    p.depends = {"libgcc-ng >=12", "python >=3.12,<3.13.0a0", "python_abi 3.12.* *_cp312"};
    if (name == "numpy" || name == "scipy") p.depends.push_back("libopenblas >=0.3.26");
    if (name != "numpy") p.depends.push_back("numpy >=1.26.4,<2.0a0");
    const std::string sp = "lib/python3.12/site-packages/";
    const std::string mod = name.substr(0, name.find('-'));
    // Binary budget: a couple of big shared objects plus many small extension modules.
    std::size_t budget = mb << 20;
    std::size_t big = budget / 3;
    add_file(p, sp + mod + ".libs/lib" + mod + "_core.so", binary(big, true), 0755);
    p.prefixed[sp + mod + ".libs/lib" + mod + "_core.so"] = true;
    budget -= big;
    std::vector<std::string> dirs;
    const std::size_t n_sub = scaled(12 + static_cast<double>(mb) / 3);
    for (std::size_t i = 0; i < n_sub; ++i) {
      dirs.push_back(sp + mod + "/" + word() + std::to_string(i));
      python_tree(p, dirs.back(), 8 + rng_.below(40), 1);
    }
    for (std::size_t i = 0; budget > (64 << 10) && i < 400; ++i) {
      const std::size_t s = std::min(budget, rng_.size_around(200000, 16384, 4 << 20));
      add_file(p, dirs[rng_.below(dirs.size())] + "/_" + word() + std::to_string(i) + ".cpython-312-x86_64-linux-gnu.so",
               binary(s, false), 0755);
      budget -= s;
    }
    dist_info(p, sp, mod, version);
    add_license(p);
    return p;
  }

  Package noarch_package(std::size_t i, const std::vector<std::string>& ext_names) {
    const std::string name = "py" + word() + std::to_string(i);
    const std::string version = std::to_string(1 + rng_.below(5)) + "." + std::to_string(rng_.below(30)) + "." + std::to_string(rng_.below(10));
    Package p = simple(name, version, "pyhd8ed1ab_0", "noarch");
    p.noarch_python = true;
    p.depends = {"python >=3.8"};
    if (rng_.below(3) == 0) p.depends.push_back(ext_names[rng_.below(ext_names.size())]);
    const std::string mod = name.substr(2);
    // Mostly small packages, a few large ones (sizes skewed like conda-forge's).
    const std::size_t modules = rng_.size_around(150, 3, 2000);
    python_tree(p, "site-packages/" + mod, modules, 0, /*pyc=*/false);
    for (std::size_t k = 0, n = rng_.below(30) == 0 ? 1 + rng_.below(8) : 0; k < n; ++k)
      add_file(p, "site-packages/" + mod + "/data/" + word() + std::to_string(k) + ".json",
               text(rng_.size_around(200000, 1000, 4 << 20), 'j'));
    dist_info(p, "site-packages/", mod, version);
    if (rng_.below(4) == 0) {
      p.entry_points.push_back(mod + " = " + mod + ".cli:main");
      if (rng_.below(2)) p.entry_points.push_back(mod + "-admin = " + mod + "._impl:admin_main");
    }
    add_license(p);
    return p;
  }

  void dist_info(Package& p, const std::string& sp, const std::string& mod, const std::string& version) {
    const std::string d = sp + mod + "-" + version + ".dist-info/";
    add_file(p, d + "METADATA", text(rng_.size_around(4000, 300, 40000), 'm'));
    add_file(p, d + "RECORD", text(2000, 'r'));
    add_file(p, d + "WHEEL", "Wheel-Version: 1.0\nGenerator: bdist_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
    add_file(p, d + "INSTALLER", "conda\n");
    add_file(p, d + "direct_url.json", "{\"dir_info\": {}, \"url\": \"file:///home/conda/feedstock_root/build_artifacts/" + mod + "\"}\n");
  }

  // A package directory with `modules` .py files (and their .pyc unless noarch), nested.
  void python_tree(Package& p, const std::string& dir, std::size_t modules, int depth, bool pyc = true) {
    std::size_t here = modules, sub = 0;
    if (depth < 3 && modules > 16) {
      sub = 1 + rng_.below(3);
      here = modules / (sub + 1);
    }
    module(p, dir, "__init__", 1500, pyc);
    for (std::size_t i = 0; i < here; ++i) module(p, dir, word() + std::to_string(i), 7000, pyc);
    for (std::size_t s = 0; s < sub; ++s)
      python_tree(p, dir + "/" + word() + std::to_string(s), (modules - here) / sub, depth + 1, pyc);
  }

  void module(Package& p, const std::string& dir, const std::string& name, double mean, bool pyc) {
    const std::size_t size = rng_.size_around(mean, 40, 300000);
    add_file(p, dir + "/" + name + ".py", text(size, 'p'));
    if (pyc) add_file(p, dir + "/__pycache__/" + name + ".cpython-312.pyc", pyc_bytes(size * 4 / 5 + 16));
  }

  // Text in the style given by `kind`: p = python, # = C header, j = json, m = prose, r = RECORD.
  std::string text(std::size_t size, char kind) {
    std::string out;
    out.reserve(size + 128);
    int indent = 0;
    while (out.size() < size) {
      const std::uint64_t r = rng_.next();
      switch (kind) {
        case 'p':
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
            out += word() + " = " + word() + "." + word() + "(" + word() + ", " + std::to_string(r % 1000) + ")\n";
            if ((r & 0x300) == 0) indent = std::max(indent - 1, 0);
          }
          break;
        case '#':
          out += "#define " + word() + "_" + word() + " " + std::to_string(r % 65536) + "\n";
          break;
        case 'j':
          out += "\"" + word() + "\": \"" + word() + "-" + std::to_string(r % 100) + "\",\n";
          break;
        case 'r':
          out += "site-packages/" + word() + "/" + word() + ".py,sha256=" + std::to_string(r) + std::to_string(r >> 7) + "," + std::to_string(r % 50000) + "\n";
          break;
        default:
          out += word() + " " + word() + " " + word() + ((r & 7) == 0 ? ".\n" : " ");
          break;
      }
    }
    out.resize(size);
    if (size > 0) out.back() = '\n';
    return out;
  }

  std::string pyc_bytes(std::size_t size) {
    std::string out;
    out.reserve(size + 64);
    out.append("\xcb\x0d\x0d\x0a\0\0\0\0\0\xe1\x53\x65\x10\x27\0\0", 16);
    while (out.size() < size) {
      const std::uint64_t r = rng_.next();
      if ((r & 1) == 0) {
        const std::string& w = word();
        out += static_cast<char>(0xda);
        out += static_cast<char>(w.size());
        out += w;
      } else {
        static constexpr char kOps[] = "\x64\x00\x53\x00\x7c\x00\x83\x01\x5a\x01\x97\x00";
        for (int i = 0; i < 6; ++i) {
          const auto b = (r >> (8 * i + 2)) & 0xff;
          out += b < 160 ? kOps[b % 12] : static_cast<char>(b & 0x1f);
        }
      }
    }
    out.resize(size);
    return out;
  }

  // ELF-like bytes; with `placeholder`, a C string holding the prefix placeholder (an RPATH).
  std::string binary(std::size_t size, bool placeholder) {
    std::string out(size, '\0');
    std::size_t off = 0;
    while (off < size) {
      const std::size_t n = std::min<std::size_t>(4096, size - off);
      const std::uint64_t kind = rng_.below(100);
      char* p = out.data() + off;
      if (kind < 45) {
        static constexpr unsigned char kCommon[] = {0x48, 0x89, 0x8b, 0xe8, 0x0f, 0x00, 0xff, 0x85,
                                                    0x74, 0x75, 0xc3, 0x41, 0x4c, 0x83, 0xc7, 0x24};
        for (std::size_t i = 0; i < n; i += 8) {
          std::uint64_t r = rng_.next();
          for (std::size_t j = 0; j < 8 && i + j < n; ++j, r >>= 8)
            p[i + j] = static_cast<char>((r & 0xe0) ? kCommon[r & 15] : (r & 0xff));
        }
      } else if (kind < 70) {
        std::uint32_t v = static_cast<std::uint32_t>(rng_.next());
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
          v += static_cast<std::uint32_t>(8 + rng_.below(64));
          std::memcpy(p + i, &v, 4);
          const std::uint32_t info = static_cast<std::uint32_t>(rng_.below(512)) << 8 | 7;
          std::memcpy(p + i + 4, &info, 4);
        }
      } else if (kind < 85) {
        // zero padding
      } else {
        std::string t = text(n, 'm');
        std::memcpy(p, t.data(), n);
        for (std::size_t i = 0; i < n; i += 24) p[i] = '\0';
      }
      off += n;
    }
    if (size >= 4) std::memcpy(out.data(), "\x7f" "ELF", 4);
    if (placeholder && size > 8192) {
      const std::string rpath = placeholder_ + "/lib";
      std::memcpy(out.data() + 4096, rpath.data(), rpath.size());
      out[4096 + rpath.size()] = '\0';
    }
    return out;
  }

  // Writes SUBDIR/DIST.conda, records it, returns its path relative to the output directory.
  std::string write_package(Package& p) {
    std::sort(p.files.begin(), p.files.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    std::vector<Entry> payload, info;
    std::string paths = "{\n  \"paths\": [";
    std::vector<std::string> file_list;
    bool first = true;
    for (auto& e : p.files) {
      const bool is_info = e.path.starts_with("info/");
      if (!is_info) {
        auto it = p.prefixed.find(e.path);
        paths += first ? "\n" : ",\n";
        first = false;
        paths += "    {\"_path\": " + quote(e.path);
        if (e.type == Entry::Type::Symlink) {
          paths += ", \"path_type\": \"softlink\"";
        } else {
          paths += ", \"path_type\": \"hardlink\"";
          if (it != p.prefixed.end())
            paths += std::string(", \"file_mode\": ") + (it->second ? "\"binary\"" : "\"text\"") +
                     ", \"prefix_placeholder\": " + quote(placeholder_);
          paths += ", \"sha256\": " + quote(digest_hex(EVP_sha256(), e.data)) +
                   ", \"size_in_bytes\": " + std::to_string(e.data.size());
          payload_bytes_ += e.data.size();
        }
        paths += "}";
        file_list.push_back(e.path);
        ++files_;
      }
      (is_info ? info : payload).push_back(std::move(e));
    }
    paths += "\n  ],\n  \"paths_version\": 1\n}\n";
    const std::string subdir = p.noarch_python ? "noarch" : p.subdir;
    std::string fields = "\"build\": " + quote(p.build) + ", \"build_number\": 0, \"depends\": " +
                         string_list(p.depends) + ", \"license\": \"BSD-3-Clause\", \"name\": " +
                         quote(p.name) + (p.noarch_python ? ", \"noarch\": \"python\"" : "") +
                         ", \"subdir\": " + quote(subdir) +
                         ", \"timestamp\": " + std::to_string(kTimestampMs) + ", \"version\": " + quote(p.version);
    std::string index = "{" + fields + (p.noarch_python ? "" : ", \"arch\": \"x86_64\", \"platform\": \"linux\"") + "}\n";
    info.push_back({Entry::Type::File, "info/index.json", index, 0644});
    info.push_back({Entry::Type::File, "info/paths.json", paths, 0644});
    std::string files;
    for (const auto& f : file_list) files += f + "\n";
    info.push_back({Entry::Type::File, "info/files", files, 0644});
    if (!p.prefixed.empty()) {
      std::string has_prefix;
      for (const auto& [path, bin] : p.prefixed)
        has_prefix += placeholder_ + (bin ? " binary " : " text ") + path + "\n";
      info.push_back({Entry::Type::File, "info/has_prefix", has_prefix, 0644});
    }
    if (p.noarch_python) {
      std::string link = "{\n  \"noarch\": {\n    \"type\": \"python\"";
      if (!p.entry_points.empty()) link += ",\n    \"entry_points\": " + string_list(p.entry_points);
      link += "\n  },\n  \"package_metadata_version\": 1\n}\n";
      info.push_back({Entry::Type::File, "info/link.json", link, 0644});
    }
    info.push_back({Entry::Type::File, "info/about.json",
                    "{\"home\": \"https://example.invalid/" + p.name + "\", \"license\": \"BSD-3-Clause\", \"summary\": " +
                        quote(text(80, 'm').substr(0, 79)) + "}\n", 0644});
    std::sort(info.begin(), info.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
    const std::string dist = p.dist();
    std::string zip = make_zip({{"metadata.json", "{\"conda_pkg_format_version\": 2}"},
                                {"info-" + dist + ".tar.zst", make_tar_zst(info, level_)},
                                {"pkg-" + dist + ".tar.zst", make_tar_zst(payload, level_)}});
    const std::string rel = subdir + "/" + dist + ".conda";
    write_file(out_ / rel, zip);
    records_.push_back({dist + ".conda", subdir, fields, digest_hex(EVP_md5(), zip),
                        digest_hex(EVP_sha256(), zip), zip.size()});
    package_bytes_ += zip.size();
    return rel;
  }

  fs::path out_;
  double scale_;
  int level_;
  std::size_t big_files_;
  Rng rng_;
  std::vector<std::string> words_;
  std::string placeholder_;
  std::vector<Record> records_;
  std::size_t files_ = 0, payload_bytes_ = 0, package_bytes_ = 0;
};

void usage() {
  std::fprintf(stderr,
               "usage: gen_channel [--scale F] [--seed N] [--level L] [--big-package FILES] OUTDIR\n"
               "  writes ~100 .conda packages / ~45k files / ~700 MB extracted at scale 1;\n"
               "  --big-package adds one package of FILES files\n");
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  std::uint64_t seed = 42;
  int level = 3;
  long long big_files = 0;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--big-package" && i + 1 < argc) {
      char* end = nullptr;
      big_files = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || big_files < 1 || big_files > 10'000'000) {
        usage();
        return 2;
      }
    } else if ((a == "--scale" || a == "--seed" || a == "--level") && i + 1 < argc) {
      const char* v = argv[++i];
      char* end = nullptr;
      if (a == "--scale")
        scale = std::strtod(v, &end);
      else if (a == "--seed")
        seed = std::strtoull(v, &end, 10);
      else
        level = static_cast<int>(std::strtol(v, &end, 10));
      if (*end != '\0' || !(scale > 0) || level < 1 || level > 22) {
        usage();
        return 2;
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
    std::fprintf(stderr, "gen_channel: %s exists and is not empty\n", out.c_str());
    return 1;
  }
  Generator(out, scale, seed, level, static_cast<std::size_t>(big_files)).run();
  return 0;
}
