// gen_repodata: writes a deterministic conda channel shaped like conda-forge linux-64 + noarch, for
// the repodata-parse and solver benchmarks (bench/solve.sh).
//
//   gen_repodata [--scale F] [--seed N] OUTDIR
//
// Writes OUTDIR/linux-64/repodata.json, OUTDIR/noarch/repodata.json and OUTDIR/datascience.txt (a
// data-science request, one match spec a line, that is satisfiable in the generated channel). At
// scale 1 the two files hold about 500,000 records and 300 MB of JSON, like conda-forge's.
//
// How the channel is made. About 200 packages with real names and a hand-written dependency graph
// (the Python data-science stack and the C libraries under it) come first, then filler packages
// with made-up names (noarch Python, compiled Python extensions, R packages, C libraries and tools)
// whose dependencies are drawn from the packages before them, popular ones more often. Time runs
// over 16 epochs. Each package gets a version history (semantic, two-part or calendar versions, a
// few major bumps). A package is built
//   * when one of its versions is released,
//   * when a dependency it pins with an upper bound (`>=1.2.3,<2.0a0`, `>=1.2,<1.3.0a0`, `==1.2.3`)
//     crosses that bound (a conda-forge "migration"), and
//   * now and then for no reason (a new build number),
// and each build depends on the versions current at its epoch. So at every epoch the newest builds
// of all packages fit together and every request of unpinned names is satisfiable, while older
// builds make a solver work. Compiled Python extensions have one build per supported Python minor
// (`py312h1a2b3c4_0`, `python >=3.12,<3.13.0a0`, `python_abi 3.12.* *_cp312`), R packages one per
// r-base minor; noarch Python packages (`pyhd8ed1ab_0`) live in noarch/. Builds of the first half
// of the history exist as `.tar.bz2` and `.conda` twins, newer ones as `.conda` only. A few records
// carry track_features (pypy Pythons, mkl BLAS, debug builds), some carry `constrains` (the BLAS
// family pins itself with exact build strings, python_abi constrains python, C libraries constrain
// `__glibc`). No record *depends* on a virtual package, so solvers that know none (rattler's
// simpleSolve) can solve against it.
//
// The same scale and seed give byte-identical files.

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr int kEpochs = 16;
constexpr std::int64_t kEpoch0Ms = 1577836800000;           // 2020-01-01, milliseconds
constexpr std::int64_t kEpochMs = 91LL * 24 * 3600 * 1000;  // a quarter
constexpr int kTwinEpochs = kEpochs / 2;  // epochs before this have .tar.bz2 twins

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
  int range(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<std::uint64_t>(hi - lo + 1)));
  }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) { return Rng(a * 0x100000001b3ULL ^ b).next(); }
std::uint64_t hash_text(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string hex(std::uint64_t seed, std::size_t digits) {
  static const char* d = "0123456789abcdef";
  std::string out;
  Rng r(seed);
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) word = r.next();
    out += d[word & 15];
    word >>= 4;
  }
  return out;
}

enum class Kind {
  CLib,      // linux-64 C/C++ library or tool
  Python,    // the interpreter
  PyAbi,     // python_abi
  PyExt,     // compiled Python extension: one build per Python minor
  NoarchPy,  // noarch: python
  Generic,   // noarch: generic (tzdata)
  RBase,     // r-base
  RExt,      // compiled R package: one build per r-base minor
  Blas,      // libblas / libcblas / liblapack (openblas and mkl variants)
};

// How a dependency is written; the styles with an upper bound trigger rebuilds when crossed.
enum class Pin { Any, Lower, Major, Minor, Exact };

struct Release {
  std::string text;
  int major = 0;
  int minor = 0;
  int epoch = 0;
};

struct Dep {
  int target = 0;
  Pin pin = Pin::Any;
};

struct Package {
  std::string name;
  Kind kind = Kind::CLib;
  std::vector<Release> releases;  // sorted by epoch
  std::vector<Dep> deps;
  std::string license;
  int popularity = 1;  // how often fillers pick it as a dependency
  bool debug_variant = false;
};

const char* kLicenses[] = {"MIT",
                           "BSD-3-Clause",
                           "Apache-2.0",
                           "GPL-3.0-or-later",
                           "LGPL-2.1-or-later",
                           "BSD-2-Clause",
                           "MPL-2.0",
                           "PSF-2.0",
                           "Zlib",
                           "ISC",
                           "GPL-2.0-or-later"};

// The hand-written part: name, kind, dependencies (pinned the way conda-forge's run_exports do:
// C libraries with an upper bound, Python packages mostly unpinned).
struct CoreSpec {
  const char* name;
  Kind kind;
  const char* deps;  // space-separated; a trailing '^' pins with an upper bound, '=' exactly
};

const CoreSpec kCore[] = {
    {"_libgcc_mutex", Kind::CLib, ""},
    {"libgomp", Kind::CLib, "_libgcc_mutex"},
    {"_openmp_mutex", Kind::CLib, "_libgcc_mutex libgomp"},
    {"libgcc-ng", Kind::CLib, "_libgcc_mutex _openmp_mutex"},
    {"libstdcxx-ng", Kind::CLib, "libgcc-ng"},
    {"libgfortran5", Kind::CLib, "libgcc-ng"},
    {"libgfortran-ng", Kind::CLib, "libgfortran5"},
    {"ld_impl_linux-64", Kind::CLib, ""},
    {"ca-certificates", Kind::CLib, ""},
    {"tzdata", Kind::Generic, ""},
    {"libzlib", Kind::CLib, "libgcc-ng"},
    {"zlib", Kind::CLib, "libgcc-ng libzlib="},
    {"bzip2", Kind::CLib, "libgcc-ng"},
    {"xz", Kind::CLib, "libgcc-ng"},
    {"zstd", Kind::CLib, "libgcc-ng libstdcxx-ng libzlib^"},
    {"lz4-c", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"snappy", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"libffi", Kind::CLib, "libgcc-ng"},
    {"openssl", Kind::CLib, "libgcc-ng ca-certificates"},
    {"ncurses", Kind::CLib, "libgcc-ng"},
    {"readline", Kind::CLib, "libgcc-ng ncurses^"},
    {"libedit", Kind::CLib, "libgcc-ng ncurses^"},
    {"tk", Kind::CLib, "libgcc-ng libzlib^"},
    {"libsqlite", Kind::CLib, "libgcc-ng libzlib^"},
    {"libuuid", Kind::CLib, "libgcc-ng"},
    {"libnsl", Kind::CLib, "libgcc-ng"},
    {"libxcrypt", Kind::CLib, "libgcc-ng"},
    {"libexpat", Kind::CLib, "libgcc-ng"},
    {"libiconv", Kind::CLib, "libgcc-ng"},
    {"icu", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"libxml2", Kind::CLib, "libgcc-ng icu^ libiconv^ libzlib^ xz^"},
    {"libxslt", Kind::CLib, "libgcc-ng libxml2^"},
    {"libjpeg-turbo", Kind::CLib, "libgcc-ng"},
    {"libpng", Kind::CLib, "libgcc-ng libzlib^"},
    {"libwebp-base", Kind::CLib, "libgcc-ng"},
    {"libdeflate", Kind::CLib, "libgcc-ng"},
    {"lerc", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"libtiff", Kind::CLib,
     "libgcc-ng libstdcxx-ng libjpeg-turbo^ libdeflate^ lerc^ libwebp-base^ libzlib^ xz^ zstd^"},
    {"freetype", Kind::CLib, "libgcc-ng libpng^ libzlib^"},
    {"fontconfig", Kind::CLib, "libgcc-ng freetype^ libexpat^ libuuid^ libzlib^"},
    {"lcms2", Kind::CLib, "libgcc-ng libjpeg-turbo^ libtiff^"},
    {"openjpeg", Kind::CLib, "libgcc-ng libpng^ libstdcxx-ng libtiff^ libzlib^"},
    {"c-ares", Kind::CLib, "libgcc-ng"},
    {"keyutils", Kind::CLib, "libgcc-ng"},
    {"krb5", Kind::CLib, "libgcc-ng libstdcxx-ng keyutils^ libedit^ openssl^"},
    {"libssh2", Kind::CLib, "libgcc-ng libzlib^ openssl^"},
    {"libnghttp2", Kind::CLib, "libgcc-ng libstdcxx-ng c-ares^ libzlib^ openssl^"},
    {"libcurl", Kind::CLib, "libgcc-ng krb5^ libnghttp2^ libssh2^ libzlib^ openssl^ zstd^"},
    {"libaec", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"hdf5", Kind::CLib,
     "libgcc-ng libgfortran-ng libstdcxx-ng libaec^ libcurl^ libzlib^ openssl^"},
    {"libzip", Kind::CLib, "libgcc-ng bzip2^ libzlib^ openssl^"},
    {"libnetcdf", Kind::CLib,
     "libgcc-ng libstdcxx-ng hdf5^ libcurl^ libxml2^ libzip^ libzlib^ zstd^"},
    {"libabseil", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"libprotobuf", Kind::CLib, "libgcc-ng libstdcxx-ng libabseil^ libzlib^"},
    {"re2", Kind::CLib, "libgcc-ng libstdcxx-ng libabseil^"},
    {"libevent", Kind::CLib, "libgcc-ng openssl^"},
    {"libthrift", Kind::CLib, "libgcc-ng libstdcxx-ng libevent^ libzlib^ openssl^"},
    {"orc", Kind::CLib, "libgcc-ng libstdcxx-ng libprotobuf^ libzlib^ lz4-c^ snappy^ zstd^"},
    {"libutf8proc", Kind::CLib, "libgcc-ng"},
    {"libbrotlicommon", Kind::CLib, "libgcc-ng"},
    {"libbrotlienc", Kind::CLib, "libgcc-ng libbrotlicommon="},
    {"libbrotlidec", Kind::CLib, "libgcc-ng libbrotlicommon="},
    {"libarrow", Kind::CLib,
     "libgcc-ng libstdcxx-ng libabseil^ libbrotlidec^ libbrotlienc^ libcurl^ libprotobuf^ "
     "libthrift^ "
     "libutf8proc^ libzlib^ lz4-c^ orc^ re2^ snappy^ zstd^ bzip2^"},
    {"libllvm15", Kind::CLib, "libgcc-ng libstdcxx-ng libxml2^ libzlib^ zstd^"},
    {"geos", Kind::CLib, "libgcc-ng libstdcxx-ng"},
    {"proj", Kind::CLib, "libgcc-ng libstdcxx-ng libcurl^ libsqlite^ libtiff^ sqlite"},
    {"sqlite", Kind::CLib, "libgcc-ng libsqlite= libzlib^ ncurses^ readline^"},
    {"yaml", Kind::CLib, "libgcc-ng"},
    {"libsodium", Kind::CLib, "libgcc-ng"},
    {"zeromq", Kind::CLib, "libgcc-ng libstdcxx-ng krb5^ libsodium^"},
    {"blosc", Kind::CLib, "libgcc-ng libstdcxx-ng libzlib^ lz4-c^ snappy^ zstd^"},
    {"libopenblas", Kind::CLib, "libgcc-ng libgfortran-ng libgfortran5"},
    {"mkl", Kind::CLib, "_openmp_mutex"},
    {"libblas", Kind::Blas, ""},
    {"libcblas", Kind::Blas, ""},
    {"liblapack", Kind::Blas, ""},
    {"r-base", Kind::RBase,
     "libgcc-ng libstdcxx-ng libgfortran-ng libblas^ libcurl^ libiconv^ libpng^ libtiff^ readline^ "
     "icu^ xz^ zlib"},
    {"python", Kind::Python,
     "bzip2^ ld_impl_linux-64 libexpat^ libffi^ libgcc-ng libnsl^ libsqlite^ libuuid^ libxcrypt^ "
     "libzlib^ ncurses^ "
     "openssl^ readline^ tk^ tzdata xz^ pip"},
    {"python_abi", Kind::PyAbi, ""},
    // Noarch Python, the base of everything.
    {"setuptools", Kind::NoarchPy, ""},
    {"wheel", Kind::NoarchPy, ""},
    {"pip", Kind::NoarchPy, "setuptools wheel"},
    {"packaging", Kind::NoarchPy, ""},
    {"six", Kind::NoarchPy, ""},
    {"pyparsing", Kind::NoarchPy, ""},
    {"python-dateutil", Kind::NoarchPy, "six"},
    {"pytz", Kind::NoarchPy, ""},
    {"python-tzdata", Kind::NoarchPy, ""},
    {"typing_extensions", Kind::NoarchPy, ""},
    {"certifi", Kind::NoarchPy, ""},
    {"idna", Kind::NoarchPy, ""},
    {"charset-normalizer", Kind::NoarchPy, ""},
    {"pysocks", Kind::NoarchPy, ""},
    {"cycler", Kind::NoarchPy, ""},
    {"munkres", Kind::NoarchPy, ""},
    {"joblib", Kind::NoarchPy, "setuptools"},
    {"threadpoolctl", Kind::NoarchPy, ""},
    {"cached-property", Kind::NoarchPy, ""},
    {"py-cpuinfo", Kind::NoarchPy, ""},
    {"toolz", Kind::NoarchPy, ""},
    {"cloudpickle", Kind::NoarchPy, ""},
    {"fsspec", Kind::NoarchPy, ""},
    {"locket", Kind::NoarchPy, ""},
    {"click", Kind::NoarchPy, ""},
    {"zipp", Kind::NoarchPy, ""},
    {"sortedcontainers", Kind::NoarchPy, ""},
    {"tblib", Kind::NoarchPy, ""},
    {"mpmath", Kind::NoarchPy, ""},
    {"networkx", Kind::NoarchPy, ""},
    {"tenacity", Kind::NoarchPy, ""},
    {"soupsieve", Kind::NoarchPy, ""},
    {"decorator", Kind::NoarchPy, ""},
    {"parso", Kind::NoarchPy, ""},
    {"ptyprocess", Kind::NoarchPy, ""},
    {"pickleshare", Kind::NoarchPy, ""},
    {"wcwidth", Kind::NoarchPy, ""},
    {"pygments", Kind::NoarchPy, ""},
    {"executing", Kind::NoarchPy, ""},
    {"pure_eval", Kind::NoarchPy, ""},
    {"traitlets", Kind::NoarchPy, ""},
    {"platformdirs", Kind::NoarchPy, ""},
    {"nest-asyncio", Kind::NoarchPy, ""},
    {"jupyterlab_widgets", Kind::NoarchPy, ""},
    {"widgetsnbextension", Kind::NoarchPy, ""},
    {"sniffio", Kind::NoarchPy, ""},
    {"exceptiongroup", Kind::NoarchPy, ""},
    {"h11", Kind::NoarchPy, ""},
    {"attrs", Kind::NoarchPy, ""},
    {"python-json-logger", Kind::NoarchPy, ""},
    {"webencodings", Kind::NoarchPy, ""},
    {"defusedxml", Kind::NoarchPy, ""},
    {"jupyterlab_pygments", Kind::NoarchPy, ""},
    {"mistune", Kind::NoarchPy, ""},
    {"fastjsonschema", Kind::NoarchPy, ""},
    {"pandocfilters", Kind::NoarchPy, ""},
    {"prometheus_client", Kind::NoarchPy, ""},
    {"send2trash", Kind::NoarchPy, ""},
    {"websocket-client", Kind::NoarchPy, ""},
    {"overrides", Kind::NoarchPy, "typing_extensions"},
    {"babel", Kind::NoarchPy, "pytz"},
    {"json5", Kind::NoarchPy, ""},
    {"tqdm", Kind::NoarchPy, ""},
    {"xyzservices", Kind::NoarchPy, ""},
    {"pycparser", Kind::NoarchPy, ""},
    {"async-lru", Kind::NoarchPy, "typing_extensions"},
    {"importlib-metadata", Kind::NoarchPy, "zipp"},
    {"partd", Kind::NoarchPy, "locket toolz"},
    {"jinja2", Kind::NoarchPy, "markupsafe"},
    {"sympy", Kind::NoarchPy, "mpmath"},
    {"beautifulsoup4", Kind::NoarchPy, "soupsieve"},
    {"jedi", Kind::NoarchPy, "parso"},
    {"pexpect", Kind::NoarchPy, "ptyprocess"},
    {"prompt-toolkit", Kind::NoarchPy, "wcwidth"},
    {"asttokens", Kind::NoarchPy, "six"},
    {"stack_data", Kind::NoarchPy, "asttokens executing pure_eval"},
    {"matplotlib-inline", Kind::NoarchPy, "traitlets"},
    {"comm", Kind::NoarchPy, "traitlets"},
    {"jupyter_core", Kind::NoarchPy, "platformdirs traitlets"},
    {"anyio", Kind::NoarchPy, "exceptiongroup idna sniffio typing_extensions"},
    {"httpcore", Kind::NoarchPy, "anyio certifi h11 sniffio"},
    {"httpx", Kind::NoarchPy, "anyio certifi httpcore idna sniffio"},
    {"urllib3", Kind::NoarchPy, "brotli-python pysocks"},
    {"requests", Kind::NoarchPy, "certifi charset-normalizer idna urllib3"},
    {"rfc3339-validator", Kind::NoarchPy, "six"},
    {"referencing", Kind::NoarchPy, "attrs rpds-py"},
    {"jsonschema-specifications", Kind::NoarchPy, "referencing"},
    {"jsonschema", Kind::NoarchPy, "attrs jsonschema-specifications referencing rpds-py"},
    {"bleach", Kind::NoarchPy, "six webencodings"},
    {"tinycss2", Kind::NoarchPy, "webencodings"},
    {"terminado", Kind::NoarchPy, "ptyprocess tornado"},
    {"argon2-cffi", Kind::NoarchPy, "argon2-cffi-bindings typing_extensions"},
    {"ipython", Kind::NoarchPy,
     "decorator jedi matplotlib-inline pexpect pickleshare prompt-toolkit pygments stack_data "
     "traitlets "
     "typing_extensions exceptiongroup"},
    {"jupyter_client", Kind::NoarchPy, "jupyter_core python-dateutil pyzmq tornado traitlets"},
    {"ipykernel", Kind::NoarchPy,
     "comm debugpy ipython jupyter_client jupyter_core matplotlib-inline nest-asyncio packaging "
     "psutil pyzmq "
     "tornado traitlets"},
    {"ipywidgets", Kind::NoarchPy, "comm ipython jupyterlab_widgets traitlets widgetsnbextension"},
    {"nbformat", Kind::NoarchPy, "fastjsonschema jsonschema jupyter_core traitlets"},
    {"nbclient", Kind::NoarchPy, "jupyter_client jupyter_core nbformat traitlets"},
    {"nbconvert", Kind::NoarchPy,
     "beautifulsoup4 bleach defusedxml jinja2 jupyter_core jupyterlab_pygments markupsafe mistune "
     "nbclient "
     "nbformat packaging pandocfilters pygments tinycss2 traitlets"},
    {"jupyter_events", Kind::NoarchPy,
     "jsonschema python-json-logger pyyaml referencing rfc3339-validator traitlets"},
    {"jupyter_server", Kind::NoarchPy,
     "anyio argon2-cffi jinja2 jupyter_client jupyter_core jupyter_events nbconvert nbformat "
     "packaging "
     "prometheus_client send2trash terminado tornado traitlets websocket-client overrides"},
    {"jupyter-lsp", Kind::NoarchPy, "jupyter_server importlib-metadata"},
    {"jupyterlab_server", Kind::NoarchPy,
     "babel jinja2 json5 jsonschema jupyter_server packaging requests"},
    {"notebook-shim", Kind::NoarchPy, "jupyter_server"},
    {"jupyterlab", Kind::NoarchPy,
     "async-lru httpx ipykernel jinja2 jupyter-lsp jupyter_core jupyter_server jupyterlab_server "
     "notebook-shim "
     "packaging tornado traitlets"},
    {"dask-core", Kind::NoarchPy,
     "click cloudpickle fsspec packaging partd pyyaml toolz importlib-metadata"},
    {"distributed", Kind::NoarchPy,
     "click cloudpickle dask-core jinja2 locket msgpack-python packaging psutil pyyaml "
     "sortedcontainers tblib "
     "toolz tornado urllib3 zict"},
    {"zict", Kind::NoarchPy, ""},
    {"dask", Kind::NoarchPy, "bokeh dask-core distributed numpy pandas pyarrow lz4"},
    {"xarray", Kind::NoarchPy, "numpy pandas packaging"},
    {"bokeh", Kind::NoarchPy,
     "contourpy jinja2 numpy packaging pandas pillow pyyaml tornado xyzservices"},
    {"seaborn", Kind::NoarchPy, "matplotlib-base numpy pandas"},
    {"matplotlib", Kind::NoarchPy, "matplotlib-base tornado"},
    {"patsy", Kind::NoarchPy, "numpy six"},
    {"imageio", Kind::NoarchPy, "numpy pillow"},
    {"tifffile", Kind::NoarchPy, "numpy"},
    {"lazy_loader", Kind::NoarchPy, "packaging"},
    {"plotly", Kind::NoarchPy, "packaging tenacity"},
    // Compiled extensions.
    {"markupsafe", Kind::PyExt, "libgcc-ng"},
    {"pyyaml", Kind::PyExt, "libgcc-ng yaml^"},
    {"tornado", Kind::PyExt, "libgcc-ng"},
    {"psutil", Kind::PyExt, "libgcc-ng"},
    {"debugpy", Kind::PyExt, "libgcc-ng libstdcxx-ng"},
    {"pyzmq", Kind::PyExt, "libgcc-ng libsodium^ libstdcxx-ng zeromq^"},
    {"cffi", Kind::PyExt, "libffi^ libgcc-ng pycparser"},
    {"argon2-cffi-bindings", Kind::PyExt, "cffi libgcc-ng"},
    {"rpds-py", Kind::PyExt, "libgcc-ng"},
    {"brotli-python", Kind::PyExt, "libgcc-ng libstdcxx-ng"},
    {"msgpack-python", Kind::PyExt, "libgcc-ng libstdcxx-ng"},
    {"lz4", Kind::PyExt, "libgcc-ng lz4-c^"},
    {"greenlet", Kind::PyExt, "libgcc-ng libstdcxx-ng"},
    {"sqlalchemy", Kind::PyExt, "greenlet libgcc-ng typing_extensions"},
    {"kiwisolver", Kind::PyExt, "libgcc-ng libstdcxx-ng"},
    {"unicodedata2", Kind::PyExt, "libgcc-ng"},
    {"fonttools", Kind::PyExt, "brotli-python libgcc-ng munkres unicodedata2"},
    {"numpy", Kind::PyExt, "libblas^ libcblas^ libgcc-ng liblapack^ libstdcxx-ng"},
    {"contourpy", Kind::PyExt, "libgcc-ng libstdcxx-ng numpy^"},
    {"pillow", Kind::PyExt,
     "freetype^ lcms2^ libgcc-ng libjpeg-turbo^ libtiff^ libwebp-base^ libzlib^ openjpeg^ tk^"},
    {"matplotlib-base", Kind::PyExt,
     "certifi contourpy cycler fonttools freetype^ kiwisolver libgcc-ng libstdcxx-ng numpy^ "
     "packaging pillow "
     "pyparsing python-dateutil"},
    {"scipy", Kind::PyExt,
     "libblas^ libcblas^ libgcc-ng libgfortran-ng libgfortran5 liblapack^ libstdcxx-ng numpy^"},
    {"pandas", Kind::PyExt, "libgcc-ng libstdcxx-ng numpy^ python-dateutil python-tzdata pytz"},
    {"scikit-learn", Kind::PyExt,
     "_openmp_mutex joblib libgcc-ng libstdcxx-ng numpy^ scipy threadpoolctl"},
    {"statsmodels", Kind::PyExt, "libgcc-ng numpy^ packaging pandas patsy scipy"},
    {"llvmlite", Kind::PyExt, "libgcc-ng libllvm15^ libstdcxx-ng libzlib^"},
    {"numba", Kind::PyExt, "_openmp_mutex libgcc-ng libstdcxx-ng llvmlite^ numpy^"},
    {"pyarrow", Kind::PyExt, "libarrow= libgcc-ng libstdcxx-ng numpy^"},
    {"h5py", Kind::PyExt, "cached-property hdf5^ libgcc-ng numpy^"},
    {"cftime", Kind::PyExt, "libgcc-ng numpy^"},
    {"netcdf4", Kind::PyExt, "certifi cftime hdf5^ libgcc-ng libnetcdf^ numpy^"},
    {"numexpr", Kind::PyExt, "libgcc-ng libstdcxx-ng numpy^"},
    {"pytables", Kind::PyExt,
     "blosc^ bzip2^ hdf5^ libgcc-ng lzo^ numexpr numpy^ packaging py-cpuinfo"},
    {"lzo", Kind::CLib, "libgcc-ng"},
    {"lxml", Kind::PyExt, "libgcc-ng libxml2^ libxslt^ libzlib^"},
    {"pywavelets", Kind::PyExt, "libgcc-ng numpy^"},
    {"scikit-image", Kind::PyExt,
     "imageio lazy_loader libgcc-ng libstdcxx-ng networkx numpy^ packaging pillow pywavelets scipy "
     "tifffile"},
    {"shapely", Kind::PyExt, "geos^ libgcc-ng numpy^"},
    {"pyproj", Kind::PyExt, "certifi libgcc-ng proj^"},
};

// A data-science environment: ~160 packages once solved.
const char* kDataScience[] = {
    "python 3.12.*", "numpy",       "scipy",          "pandas",  "matplotlib", "seaborn",
    "scikit-learn",  "statsmodels", "sympy",          "pyarrow", "xarray",     "h5py",
    "requests",      "pillow",      "ipykernel",      "tqdm",    "pyyaml",     "networkx",
    "numba",         "bokeh",       "beautifulsoup4", "lxml",    "sqlalchemy", "plotly",
    "scikit-image",  "ipywidgets"};

// Version histories.
std::vector<Release> make_history(Rng& rng, int count, bool introduce_late) {
  std::vector<Release> out;
  int scheme = static_cast<int>(rng.below(10));  // 0-6 semver, 7-8 two-part, 9 calendar
  int major = scheme == 9 ? 2019 + rng.range(0, 1) : rng.range(0, 3);
  int minor = rng.range(0, 12), patch = rng.range(0, 5);
  int first = introduce_late ? rng.range(0, kEpochs / 2) : 0;
  std::vector<int> epochs{first};
  for (int i = 1; i < count; ++i) epochs.push_back(rng.range(first, kEpochs - 1));
  std::sort(epochs.begin(), epochs.end());
  for (int i = 0; i < count; ++i) {
    if (i > 0) {
      if (scheme == 9) {
        if (epochs[i] / 4 != epochs[i - 1] / 4)
          major = 2020 + epochs[i] / 4, minor = 1, patch = 0;
        else if (rng.chance(60))
          ++minor, patch = 0;
        else
          ++patch;
      } else if (rng.chance(8)) {
        ++major, minor = 0, patch = 0;
      } else if (rng.chance(45)) {
        ++minor, patch = 0;
      } else {
        ++patch;
      }
    }
    Release r;
    r.major = major;
    r.minor = minor;
    r.epoch = epochs[i];
    if (scheme == 9)
      r.text = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    else if (scheme >= 7)
      r.text = std::to_string(major) + "." + std::to_string(minor * 10 + patch);
    else
      r.text = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (scheme >= 7 && scheme < 9) r.minor = minor * 10 + patch;
    // Pre-releases are not in the main label of conda-forge; a few post/letter versions are.
    if (rng.chance(2)) r.text += "post" + std::to_string(rng.range(1, 3));
    // Versions are unique within a package ("1.10" can come from 1.1.0 and 1.0.10 in the
    // two-part scheme).
    if (std::any_of(out.begin(), out.end(), [&](const Release& o) { return o.text == r.text; })) {
      r.text += "." + std::to_string(i + 1);
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Python 3.8 .. 3.13, one minor every 3 epochs, a patch release every epoch.
std::vector<Release> python_history() {
  std::vector<Release> out;
  for (int m = 8; m <= 13; ++m) {
    int released = (m - 8) * 3 - 2;
    for (int e = std::max(0, released), p = 0; e < kEpochs; ++e, ++p) {
      if (e != std::max(0, released) && e % 2 != m % 2) continue;
      out.push_back(
          {"3." + std::to_string(m) + "." + std::to_string(p + (released < 0 ? 8 : 0)), 3, m, e});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.epoch < b.epoch; });
  return out;
}

std::vector<Release> rbase_history() {
  std::vector<Release> out;
  for (int m = 1; m <= 4; ++m) {
    int released = (m - 1) * 4;
    for (int p = 0; p < 3; ++p)
      out.push_back({"4." + std::to_string(m) + "." + std::to_string(p), 4, m, released + p});
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.epoch < b.epoch; });
  return out;
}

// The release current at an epoch (-1 before the first).
int current(const Package& p, int epoch) {
  int at = -1;
  for (int i = 0; i < static_cast<int>(p.releases.size()); ++i)
    if (p.releases[i].epoch <= epoch) at = i;
  return at;
}

// The "bound key" of a pinned dependency: a rebuild happens when it changes.
long pin_key(const Package& dep, int release, Pin pin) {
  if (release < 0) return -1;
  const Release& r = dep.releases[release];
  switch (pin) {
    case Pin::Major:
      return r.major;
    case Pin::Minor:
      return r.major * 10000L + r.minor;
    case Pin::Exact:
      return release;
    default:
      return 0;
  }
}

// Interpreter minors supported at an epoch: the newest `keep` minors released by then.
std::vector<int> supported_minors(const Package& interp, int epoch, std::size_t keep) {
  std::set<int> minors;
  for (const Release& r : interp.releases)
    if (r.epoch <= epoch) minors.insert(r.minor);
  std::vector<int> out(minors.begin(), minors.end());
  if (out.size() > keep) out.erase(out.begin(), out.end() - static_cast<long>(keep));
  return out;
}

struct Record {
  std::string fn;
  std::string json;
};

class Writer {
 public:
  Writer(std::uint64_t seed, std::vector<Package>& pkgs) : seed_(seed), pkgs_(pkgs) {
    for (std::size_t i = 0; i < pkgs_.size(); ++i) index_[pkgs_[i].name] = static_cast<int>(i);
  }
  int find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? -1 : it->second;
  }

  void generate_all() {
    python_ = find("python");
    rbase_ = find("r-base");
    for (std::size_t i = 0; i < pkgs_.size(); ++i) generate(static_cast<int>(i));
  }

  std::vector<Record> linux64, noarch;

 private:
  std::string version_spec(const Package& dep, int rel, Pin pin) const {
    const Release& r = dep.releases[rel];
    switch (pin) {
      case Pin::Any:
        return "";
      case Pin::Lower: {
        std::string t = r.text;
        std::size_t dot = t.find('.');
        if (dot != std::string::npos) dot = t.find('.', dot + 1);
        if (dot != std::string::npos) t.resize(dot);
        return ">=" + t;
      }
      case Pin::Major:
        return ">=" + r.text + ",<" + std::to_string(r.major + 1) + ".0a0";
      case Pin::Minor:
        return ">=" + r.text + ",<" + std::to_string(r.major) + "." + std::to_string(r.minor + 1) +
               ".0a0";
      case Pin::Exact:
        return "==" + r.text;
    }
    return "";
  }

  // The dependency strings of a build of `p` at `epoch` (interpreter pins added by the caller).
  std::vector<std::string> depends_at(const Package& p, int epoch) const {
    std::vector<std::string> out;
    for (const Dep& d : p.deps) {
      const Package& dep = pkgs_[d.target];
      int rel = current(dep, epoch);
      if (rel < 0 || dep.kind == Kind::Python || dep.kind == Kind::PyAbi) continue;
      std::string spec = dep.name;
      std::string vs = version_spec(dep, rel, d.pin);
      if (!vs.empty()) spec += " " + vs;
      out.push_back(std::move(spec));
    }
    return out;
  }

  // Whether `p` needs a rebuild at `epoch` because a pinned dependency crossed its bound.
  bool migrated(const Package& p, int epoch) const {
    if (epoch == 0) return false;
    for (const Dep& d : p.deps) {
      if (d.pin == Pin::Any || d.pin == Pin::Lower) continue;
      const Package& dep = pkgs_[d.target];
      if (pin_key(dep, current(dep, epoch), d.pin) != pin_key(dep, current(dep, epoch - 1), d.pin))
        return true;
    }
    return false;
  }

  static std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  // Lists as conda-index writes them (indent 2, one item a line, inside a record at depth 3).
  static std::string json_list(const std::vector<std::string>& items) {
    if (items.empty()) return "[]";
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
      out += (i ? ",\n        " : "\n        ") + json_string(items[i]);
    return out + "\n      ]";
  }

  struct Build {
    std::string version, build;
    int build_number = 0;
    int epoch = 0;
    std::vector<std::string> depends, constrains;
    std::string track_features;
    std::string noarch;  // "", "python", "generic"
  };

  void emit(const Package& p, const Build& b) {
    std::string stem = p.name + "-" + b.version + "-" + b.build;
    std::uint64_t h = mix(seed_, hash_text(stem));
    bool is_noarch = !b.noarch.empty();
    std::int64_t ts = kEpoch0Ms + b.epoch * kEpochMs +
                      static_cast<std::int64_t>(h % static_cast<std::uint64_t>(kEpochMs));
    std::uint64_t size = 2000 + (h >> 20) % (is_noarch ? 400000 : 8000000);
    auto make = [&](const char* ext, std::uint64_t salt) {
      // Keys sorted, indent 2, like conda-index's output.
      std::string j = "{";
      auto field = [&j](std::string_view key, const std::string& value) {
        j += j.size() == 1 ? "\n      \"" : ",\n      \"";
        j += key;
        j += "\": ";
        j += value;
      };
      field("build", json_string(b.build));
      field("build_number", std::to_string(b.build_number));
      if (!b.constrains.empty()) field("constrains", json_list(b.constrains));
      field("depends", json_list(b.depends));
      field("license", json_string(p.license));
      field("license_family", json_string(p.license.substr(0, p.license.find('-'))));
      field("md5", "\"" + hex(h ^ salt, 32) + "\"");
      field("name", json_string(p.name));
      if (is_noarch) field("noarch", json_string(b.noarch));
      field("sha256", "\"" + hex(h ^ salt ^ 0x5a5a, 64) + "\"");
      field("size", std::to_string(salt ? size * 13 / 10 : size));
      field("subdir", json_string(is_noarch ? "noarch" : "linux-64"));
      field("timestamp", std::to_string(ts));
      if (!b.track_features.empty()) field("track_features", json_string(b.track_features));
      field("version", json_string(b.version));
      j += "\n    }";
      auto& out = is_noarch ? noarch : linux64;
      out.push_back({stem + ext, std::move(j)});
    };
    make(".conda", 0);
    if (b.epoch < kTwinEpochs) make(".tar.bz2", 0x1234567);
  }

  std::string hash7(const Package& p, std::uint64_t salt) const {
    return "h" + hex(mix(hash_text(p.name), salt), 7);
  }

  // Whether the major version of `name` changed at `epoch`.
  bool major_changed(std::string_view name, int epoch) const {
    const Package& d = pkgs_[find(name)];
    return epoch > 0 && pin_key(d, current(d, epoch), Pin::Major) !=
                            pin_key(d, current(d, epoch - 1), Pin::Major);
  }

  void generate(int index) {
    Package& p = pkgs_[index];
    Rng rng(mix(seed_, hash_text(p.name) ^ 0xb17d));
    std::map<int, int> build_numbers;  // release -> next build number
    for (int e = 0; e < kEpochs; ++e) {
      int cur = current(p, e);
      if (cur < 0) continue;
      // Every release of this epoch is built (Python releases patches of several minors at once).
      std::set<int> to_build;
      for (int i = 0; i < static_cast<int>(p.releases.size()); ++i)
        if (p.releases[i].epoch == e) to_build.insert(i);
      bool interp_change = false;
      if (p.kind == Kind::PyExt)
        interp_change = e > 0 && supported_minors(pkgs_[python_], e, 4) !=
                                     supported_minors(pkgs_[python_], e - 1, 4);
      if (p.kind == Kind::RExt)
        interp_change = e > 0 && supported_minors(pkgs_[rbase_], e, 2) !=
                                     supported_minors(pkgs_[rbase_], e - 1, 2);
      bool rebuild = migrated(p, e) || interp_change;
      if (p.kind == Kind::Blas)
        rebuild = major_changed("libopenblas", e) || major_changed("mkl", e) || e % 3 == 0;
      else if (p.kind != Kind::PyAbi && rng.chance(4))
        rebuild = true;
      if (rebuild && p.kind == Kind::Python) {
        // The newest patch of every supported minor is rebuilt.
        for (int minor : supported_minors(p, e, 4)) {
          int latest = -1;
          for (int i = 0; i < static_cast<int>(p.releases.size()); ++i)
            if (p.releases[i].epoch <= e && p.releases[i].minor == minor) latest = i;
          if (latest >= 0) to_build.insert(latest);
        }
      } else if (rebuild && p.kind != Kind::PyAbi) {
        to_build.insert(cur);
      }
      for (int rel : to_build) emit_builds(p, rel, e, build_numbers[rel]++, rng);
    }
  }

  void emit_builds(const Package& p, int rel, int e, int bn, Rng& rng) {
    const Release& r = p.releases[rel];
    Build b;
    b.version = r.text;
    b.build_number = bn;
    b.epoch = e;
    const std::string suffix = "_" + std::to_string(bn);
    auto glibc = [&](Build& x) {
      if (rng.chance(20)) x.constrains.push_back("__glibc >=2.17,<3.0.a0");
    };
    auto extra_constrain = [&](Build& x) {
      // Now and then a constraint on a package this one does not depend on, satisfied by its
      // version current at this epoch (so the newest set stays consistent).
      if (!rng.chance(6) || p.deps.empty()) return;
      const Package& other = pkgs_[p.deps[rng.below(p.deps.size())].target];
      if (other.kind == Kind::Python || other.kind == Kind::PyAbi || other.kind == Kind::Blas)
        return;
      int orel = current(other, e);
      if (orel < 0) return;
      x.constrains.push_back(other.name + " >=" + other.releases[std::max(0, orel - 2)].text);
    };
    switch (p.kind) {
      case Kind::CLib:
      case Kind::RBase: {
        b.build = hash7(p, e * 131 + bn) + suffix;
        b.depends = depends_at(p, e);
        glibc(b);
        extra_constrain(b);
        if (p.name == "_openmp_mutex") b.constrains.push_back("openmp_impl 9999");
        if (p.kind == Kind::RBase) b.build = "hb" + hex(mix(hash_text(p.name), e), 6) + suffix;
        emit(p, b);
        if (p.debug_variant && rng.chance(50)) {
          Build d = b;
          d.build = "debug_" + b.build;
          d.track_features = p.name + "_debug";
          emit(p, d);
        }
        break;
      }
      case Kind::Generic:
        b.build = hash7(p, e) + suffix;
        b.noarch = "generic";
        emit(p, b);
        break;
      case Kind::Python: {
        for (std::string& d : depends_at(p, e)) b.depends.push_back(d);
        b.build = hash7(p, e * 7 + bn) + suffix + "_cpython";
        b.constrains.push_back("python_abi " + std::to_string(r.major) + "." +
                               std::to_string(r.minor) + ".* *_cp3" + std::to_string(r.minor));
        emit(p, b);
        if (r.minor >= 9 && r.minor <= 10 &&
            e % 3 == 0) {  // a PyPy interpreter build, de-prioritised
          Build pp = b;
          pp.build = std::to_string(bn) + "_73_pypy";
          pp.constrains = {"python_abi " + std::to_string(r.major) + "." + std::to_string(r.minor) +
                           ".* *_pypy3" + std::to_string(r.minor) + "_pp73"};
          pp.track_features = "pypy";
          emit(p, pp);
        }
        break;
      }
      case Kind::PyAbi: {
        // One record per Python minor, released with the minor.
        std::string m = std::to_string(r.minor);
        b.build = "4_cp3" + m;
        b.build_number = 4;
        b.constrains = {"python 3." + m + ".* *_cpython"};
        emit(p, b);
        if (r.minor >= 9 && r.minor <= 10) {
          Build pp = b;
          pp.build = "4_pypy3" + m + "_pp73";
          pp.constrains = {"python 3." + m + ".* *_73_pypy"};
          pp.track_features = "pypy";
          emit(p, pp);
        }
        break;
      }
      case Kind::PyExt:
        for (int minor : supported_minors(pkgs_[python_], e, 4)) {
          Build x = b;
          std::string m = std::to_string(minor);
          x.build = "py3" + m + hash7(p, e * 31 + minor) + suffix;
          x.depends = depends_at(p, e);
          x.depends.push_back("python >=3." + m + ",<3." + std::to_string(minor + 1) + ".0a0");
          x.depends.push_back("python_abi 3." + m + ".* *_cp3" + m);
          glibc(x);
          extra_constrain(x);
          std::sort(x.depends.begin(), x.depends.end());
          emit(p, x);
        }
        break;
      case Kind::NoarchPy: {
        b.build = "pyhd8ed1ab" + suffix;
        b.noarch = "python";
        b.depends = depends_at(p, e);
        auto minors = supported_minors(pkgs_[python_], e, 4);
        b.depends.push_back("python >=3." + std::to_string(minors.empty() ? 8 : minors.front()));
        extra_constrain(b);
        std::sort(b.depends.begin(), b.depends.end());
        emit(p, b);
        break;
      }
      case Kind::RExt:
        if (p.releases.size() % 2 == 0) {  // noarch R package
          b.build = "r4" + std::to_string(r.minor) + "hc72bb7e" + suffix;
          b.noarch = "generic";
          b.depends = depends_at(p, e);
          b.depends.push_back("r-base >=4.1");
          emit(p, b);
          break;
        }
        for (int minor : supported_minors(pkgs_[rbase_], e, 2)) {
          Build x = b;
          std::string m = std::to_string(minor);
          x.build = "r4" + m + hash7(p, e * 17 + minor) + suffix;
          x.depends = depends_at(p, e);
          x.depends.push_back("r-base >=4." + m + ",<4." + std::to_string(minor + 1) + ".0a0");
          std::sort(x.depends.begin(), x.depends.end());
          emit(p, x);
        }
        break;
      case Kind::Blas: {
        // libblas / libcblas / liblapack 3.9.0, one build number per rebuild, openblas and mkl
        // variants pinning each other by exact build string.
        const Package& openblas = pkgs_[find("libopenblas")];
        const Package& mkl = pkgs_[find("mkl")];
        int obl = current(openblas, e), mk = current(mkl, e);
        for (const char* variant : {"openblas", "mkl"}) {
          Build x = b;
          bool is_mkl = std::string_view(variant) == "mkl";
          std::string bs = std::to_string(bn + 1) + "_linux64_" + variant;
          x.build = bs;
          x.build_number = bn + 1;
          if (p.name == "libblas") {
            x.depends.push_back(is_mkl ? "mkl " + version_spec(mkl, mk, Pin::Major)
                                       : "libopenblas " + version_spec(openblas, obl, Pin::Major));
            x.constrains = {"libcblas 3.9.0 " + bs, "liblapack 3.9.0 " + bs,
                            "blas * " + std::string(variant)};
          } else {
            x.depends.push_back("libblas 3.9.0 " + bs);
            x.constrains = {
                std::string(p.name == "libcblas" ? "liblapack" : "libcblas") + " 3.9.0 " + bs,
                "blas * " + std::string(variant)};
          }
          if (is_mkl) x.track_features = "blas_mkl";
          emit(p, x);
        }
        break;
      }
    }
  }

  std::uint64_t seed_;
  std::vector<Package>& pkgs_;
  std::unordered_map<std::string, int> index_;
  int python_ = -1, rbase_ = -1;
};

// Filler names: syllables, with the prefixes conda-forge's namespaces use.
std::string filler_name(Rng& rng, Kind kind) {
  static const char* syll[] = {"ar", "bo", "ca", "de", "fi", "ga", "hu", "io", "ja",
                               "ke", "lo", "mi", "nu", "op", "pa", "qu", "ri", "so",
                               "ta", "ul", "vo", "wi", "xe", "yo", "zu", "py", "st",
                               "tr", "gr", "pl", "sk", "cl", "br", "fl", "sn", "kr"};
  std::string base;
  int n = rng.range(2, 4);
  for (int i = 0; i < n; ++i) base += syll[rng.below(std::size(syll))];
  if (rng.chance(15))
    base += "-" + std::string(syll[rng.below(std::size(syll))]) + syll[rng.below(std::size(syll))];
  switch (kind) {
    case Kind::RExt:
      return "r-" + base;
    case Kind::CLib:
      return rng.chance(50) ? "lib" + base : base;
    case Kind::NoarchPy:
      return rng.chance(25) ? "py" + base : base;
    case Kind::PyExt:
      return rng.chance(20) ? "py" + base : base;
    default:
      return base;
  }
}

std::vector<Package> make_packages(std::uint64_t seed, double scale) {
  Rng rng(seed);
  std::vector<Package> pkgs;
  std::unordered_map<std::string, int> index;
  for (const CoreSpec& c : kCore) {
    Package p;
    p.name = c.name;
    p.kind = c.kind;
    p.license = kLicenses[hash_text(c.name) % std::size(kLicenses)];
    if (c.kind == Kind::Python)
      p.releases = python_history();
    else if (c.kind == Kind::RBase)
      p.releases = rbase_history();
    else if (c.kind == Kind::PyAbi) {
      for (int m = 8; m <= 13; ++m)
        p.releases.push_back({"3." + std::to_string(m), 3, m, std::max(0, (m - 8) * 3 - 2)});
    } else if (c.kind == Kind::Blas)
      p.releases.push_back({"3.9.0", 3, 9, 0});
    else
      p.releases = make_history(rng, rng.range(4, 14), false);
    p.popularity = c.kind == Kind::CLib ? 6 : 3;
    index[p.name] = static_cast<int>(pkgs.size());
    pkgs.push_back(std::move(p));
  }
  // Core dependencies (names resolved after all core packages exist: the graph has cycles, like
  // python -> pip -> python).
  for (std::size_t i = 0; i < std::size(kCore); ++i) {
    std::string_view deps = kCore[i].deps;
    while (!deps.empty()) {
      std::size_t sp = deps.find(' ');
      std::string_view word = deps.substr(0, sp);
      deps = sp == std::string_view::npos ? std::string_view{} : deps.substr(sp + 1);
      if (word.empty()) continue;
      Pin pin = Pin::Any;
      if (word.back() == '^')
        pin = Pin::Major, word.remove_suffix(1);
      else if (word.back() == '=')
        pin = Pin::Exact, word.remove_suffix(1);
      auto it = index.find(std::string(word));
      if (it == index.end()) {
        std::fprintf(stderr, "gen_repodata: core package %s depends on unknown %.*s\n",
                     kCore[i].name, static_cast<int>(word.size()), word.data());
        std::exit(1);
      }
      if (pin == Pin::Any && pkgs[i].kind != Kind::NoarchPy &&
          pkgs[it->second].kind == Kind::CLib && rng.chance(30))
        pin = Pin::Lower;
      pkgs[i].deps.push_back({it->second, pin});
      pkgs[it->second].popularity += 2;
    }
  }

  // Fillers: 31,000 at scale 1 give ~500k records with the core.
  std::size_t fillers = static_cast<std::size_t>(31000 * scale);
  std::vector<int> clibs, pys, rs;
  for (std::size_t i = 0; i < pkgs.size(); ++i) {
    if (pkgs[i].kind == Kind::CLib) clibs.push_back(static_cast<int>(i));
    if (pkgs[i].kind == Kind::NoarchPy || pkgs[i].kind == Kind::PyExt)
      pys.push_back(static_cast<int>(i));
  }
  // Weighted choice: popular packages (and core ones) are picked more often.
  auto pick = [&](const std::vector<int>& from) {
    // Favour the first (older, more basic) entries: pick the smaller of two uniform draws.
    std::size_t a = rng.below(from.size()), b2 = rng.below(from.size());
    std::size_t at = std::min(a, b2);
    if (rng.chance(30)) at = rng.below(from.size());
    return from[at];
  };
  for (std::size_t n = 0; n < fillers; ++n) {
    int roll = static_cast<int>(rng.below(100));
    Kind kind = roll < 38   ? Kind::NoarchPy
                : roll < 50 ? Kind::PyExt
                : roll < 70 ? Kind::RExt
                            : Kind::CLib;
    Package p;
    do p.name = filler_name(rng, kind);
    while (index.count(p.name));
    p.kind = kind;
    p.license = kLicenses[rng.below(std::size(kLicenses))];
    int history =
        1 + static_cast<int>(rng.below(4)) + (rng.chance(30) ? static_cast<int>(rng.below(20)) : 0);
    p.releases = make_history(rng, history, true);
    p.debug_variant = kind == Kind::CLib && rng.chance(2);
    int ndeps = rng.range(kind == Kind::NoarchPy ? 0 : 1, kind == Kind::NoarchPy ? 8 : 10);
    std::set<int> chosen;
    int self = static_cast<int>(pkgs.size());
    if (kind == Kind::CLib || kind == Kind::PyExt || kind == Kind::RExt)
      chosen.insert(index["libgcc-ng"]);
    for (int i = 0; i < ndeps; ++i) {
      int t;
      if (kind == Kind::NoarchPy)
        t = pick(pys);
      else if (kind == Kind::PyExt)
        t = rng.chance(50) ? pick(pys) : pick(clibs);
      else if (kind == Kind::RExt)
        t = rs.empty() || rng.chance(35) ? pick(clibs) : pick(rs);
      else
        t = pick(clibs);
      if (t != self) chosen.insert(t);
    }
    if (kind == Kind::PyExt && rng.chance(30)) chosen.insert(index["numpy"]);
    for (int t : chosen) {
      Pin pin = Pin::Any;
      Kind tk = pkgs[t].kind;
      if (tk == Kind::CLib)
        pin = rng.chance(85) ? Pin::Major : rng.chance(50) ? Pin::Minor : Pin::Lower;
      else if (tk == Kind::PyExt && pkgs[t].name == "numpy" && kind == Kind::PyExt)
        pin = Pin::Major;
      else
        pin = rng.chance(40) ? Pin::Lower : Pin::Any;
      p.deps.push_back({t, pin});
    }
    int self_index = static_cast<int>(pkgs.size());
    index[p.name] = self_index;
    if (kind == Kind::CLib) clibs.push_back(self_index);
    if (kind == Kind::NoarchPy || kind == Kind::PyExt) pys.push_back(self_index);
    if (kind == Kind::RExt) rs.push_back(self_index);
    pkgs.push_back(std::move(p));
  }
  return pkgs;
}

bool write_repodata(const fs::path& path, const char* subdir, std::vector<Record>& records) {
  std::sort(records.begin(), records.end(),
            [](const Record& a, const Record& b) { return a.fn < b.fn; });
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::fprintf(stderr, "gen_repodata: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  std::string head =
      std::string("{\n  \"info\": {\n    \"subdir\": \"") + subdir + "\"\n  },\n  \"packages\": {";
  std::fwrite(head.data(), 1, head.size(), f);
  for (int pass = 0; pass < 2; ++pass) {
    std::string_view ext = pass == 0 ? ".tar.bz2" : ".conda";
    bool first = true;
    if (pass == 1) std::fputs("\n  },\n  \"packages.conda\": {", f);
    for (const Record& r : records) {
      if (!std::string_view(r.fn).ends_with(ext)) continue;
      std::string line = std::string(first ? "" : ",") + "\n    \"" + r.fn + "\": " + r.json;
      first = false;
      std::fwrite(line.data(), 1, line.size(), f);
    }
  }
  std::fputs("\n  },\n  \"removed\": [],\n  \"repodata_version\": 1\n}\n", f);
  bool ok = std::fflush(f) == 0 && !std::ferror(f);
  ok = std::fclose(f) == 0 && ok;
  if (!ok) std::fprintf(stderr, "gen_repodata: writing %s failed\n", path.c_str());
  return ok;
}

int usage() {
  std::fprintf(stderr, "usage: gen_repodata [--scale F] [--seed N] OUTDIR\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  std::uint64_t seed = 1;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--scale" && i + 1 < argc)
      scale = std::strtod(argv[++i], nullptr);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "-h" || a == "--help")
      return usage(), 0;
    else if (!a.empty() && a[0] != '-' && out.empty())
      out = a;
    else
      return usage();
  }
  if (out.empty() || !(scale > 0)) return usage();

  std::vector<Package> pkgs = make_packages(seed, scale);
  Writer w(seed, pkgs);
  w.generate_all();

  std::error_code ec;
  fs::create_directories(fs::path(out) / "linux-64", ec);
  fs::create_directories(fs::path(out) / "noarch", ec);
  if (ec) {
    std::fprintf(stderr, "gen_repodata: cannot create %s: %s\n", out.c_str(), ec.message().c_str());
    return 1;
  }
  std::size_t n64 = w.linux64.size(), nna = w.noarch.size();
  if (!write_repodata(fs::path(out) / "linux-64/repodata.json", "linux-64", w.linux64)) return 1;
  if (!write_repodata(fs::path(out) / "noarch/repodata.json", "noarch", w.noarch)) return 1;
  std::FILE* f = std::fopen((fs::path(out) / "datascience.txt").c_str(), "wb");
  if (!f) return std::fprintf(stderr, "gen_repodata: cannot write datascience.txt\n"), 1;
  for (const char* spec : kDataScience) std::fprintf(f, "%s\n", spec);
  std::fclose(f);
  std::printf("gen_repodata: %zu packages, %zu linux-64 + %zu noarch records in %s\n", pkgs.size(),
              n64, nna, out.c_str());
  return 0;
}
