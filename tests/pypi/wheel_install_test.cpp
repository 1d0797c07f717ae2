// Installing wheels: entries for the scheme, scripts, entry points, the rewritten RECORD; real
// wheels (Debian's python3-pip-whl, python3-setuptools-whl, python3-wheel-whl) installed into a
// prefix that the host's Python then imports from.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "docker_envs/base/io.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"
#include "docker_envs/pypi/wheel_install.hpp"
#include "pypi/record.hpp"
#include "pypi/wheel_test_util.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;
using conda::InstallEntry;
using test::TestWheel;

const conda::PythonInfo kPython311{"3.11", "lib/python3.11/site-packages"};

class WheelInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create();
    ASSERT_TRUE(t);
    tmp_ = std::make_unique<TempDir>(std::move(*t));
  }

  // Extracts `wheel` (a file) into a fresh directory and plans it.
  Result<WheelPlan> plan(const fs::path& wheel, const WheelInstallOptions& options) {
    fs::path dir = tmp_->path() / ("x-" + std::to_string(count_++));
    DE_TRY(extract_wheel(wheel, dir));
    return plan_wheel(dir, wheel.filename().string(), options);
  }

  static std::map<std::string, const InstallEntry*> by_path(const WheelPlan& p) {
    std::map<std::string, const InstallEntry*> out;
    for (const auto& e : p.entries) out[e.path] = &e;
    return out;
  }

  static std::string content(const InstallEntry& e) {
    if (e.source == InstallEntry::Source::Bytes) return e.data;
    return read_file(e.host_path).value();
  }

  // Writes the plans below root_ (the image root) and returns the site-packages directory.
  fs::path write(const std::vector<WheelPlan>& plans, const std::string& prefix = "/opt/conda") {
    conda::InstallPlan all;
    for (const auto& p : plans)
      for (const auto& e : p.entries) all.entries.push_back(e);
    auto st = conda::write_to_directory(all, root(), prefix, {.link = conda::LinkMode::Copy});
    EXPECT_TRUE(st) << st.error().to_string();
    return root() / prefix.substr(1) / "lib/python3.11/site-packages";
  }

  fs::path root() const { return tmp_->path() / "root"; }

  static TestWheel demo() {
    TestWheel w;
    w.name = "demo_pkg";
    w.version = "2.5";
    w.files = {
        {"demo_pkg/__init__.py", "VALUE = 'pure'\ndef main():\n    print('main ran')\n    return 0\n"},
        {"demo_pkg-2.5.data/platlib/demo_native/__init__.py", "KIND = 'platlib'\n"},
        {"demo_pkg-2.5.data/purelib/demo_extra/__init__.py", "KIND = 'purelib'\n"},
        {"demo_pkg-2.5.data/scripts/demo-script", "#!python -u\nimport demo_pkg\nprint('script')\n"},
        {"demo_pkg-2.5.data/scripts/plain.sh", "#!/bin/sh\necho plain\n"},
        {"demo_pkg-2.5.data/headers/demo.h", "#define DEMO 1\n"},
        {"demo_pkg-2.5.data/data/share/demo/readme.txt", "data file\n"},
    };
    w.entry_points =
        "[console_scripts]\ndemo-cli = demo_pkg:main\n[gui_scripts]\ndemo-gui = demo_pkg:main\n"
        "[other.group]\nignored = x:y\n";
    return w;
  }

  std::unique_ptr<TempDir> tmp_;
  int count_ = 0;
};

TEST_F(WheelInstall, SchemeScriptsAndEntryPoints) {
  auto wheel = demo().write(tmp_->path());
  auto p = plan(wheel, {.prefix = "/opt/conda", .python = kPython311, .requested = true});
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->name, "demo_pkg");
  EXPECT_EQ(p->version, "2.5");
  EXPECT_EQ(p->dist_info, "lib/python3.11/site-packages/demo_pkg-2.5.dist-info");
  auto e = by_path(*p);
  const std::string sp = "opt/conda/lib/python3.11/site-packages/";
  for (const auto& path :
       {sp + "demo_pkg/__init__.py", sp + "demo_native/__init__.py", sp + "demo_extra/__init__.py",
        std::string("opt/conda/bin/demo-script"), std::string("opt/conda/bin/plain.sh"),
        std::string("opt/conda/include/python3.11/demo_pkg/demo.h"),
        std::string("opt/conda/share/demo/readme.txt"), std::string("opt/conda/bin/demo-cli"),
        std::string("opt/conda/bin/demo-gui"), sp + "demo_pkg-2.5.dist-info/METADATA",
        sp + "demo_pkg-2.5.dist-info/INSTALLER", sp + "demo_pkg-2.5.dist-info/REQUESTED",
        sp + "demo_pkg-2.5.dist-info/RECORD", sp + "demo_pkg-2.5.dist-info/entry_points.txt"})
    EXPECT_TRUE(e.contains(path)) << path;
  EXPECT_EQ(p->entries.size(), 15u);
  EXPECT_FALSE(e.contains("opt/conda/bin/ignored"));
  for (const auto& entry : p->entries) EXPECT_EQ(entry.package, "demo_pkg-2.5");
  EXPECT_TRUE(std::ranges::is_sorted(p->entries, {}, &InstallEntry::path));

  // #!python becomes the image's interpreter; the rest of that line goes, as pip drops it.
  EXPECT_EQ(content(*e["opt/conda/bin/demo-script"]),
            "#!/opt/conda/bin/python\nimport demo_pkg\nprint('script')\n");
  EXPECT_EQ(e["opt/conda/bin/demo-script"]->mode, 0755u);
  EXPECT_EQ(content(*e["opt/conda/bin/plain.sh"]), "#!/bin/sh\necho plain\n");
  EXPECT_EQ(e["opt/conda/bin/plain.sh"]->mode, 0755u);
  std::string cli = content(*e["opt/conda/bin/demo-cli"]);
  EXPECT_TRUE(cli.starts_with("#!/opt/conda/bin/python\n")) << cli;
  EXPECT_NE(cli.find("from demo_pkg import main\n"), std::string::npos) << cli;
  EXPECT_NE(cli.find("sys.exit(main())"), std::string::npos) << cli;
  EXPECT_EQ(e["opt/conda/bin/demo-cli"]->mode, 0755u);
  EXPECT_EQ(content(*e[sp + "demo_pkg-2.5.dist-info/INSTALLER"]), "docker-envs\n");
  EXPECT_EQ(content(*e[sp + "demo_pkg-2.5.dist-info/REQUESTED"]), "");
  EXPECT_EQ(e[sp + "demo_pkg/__init__.py"]->mode, 0644u);
  EXPECT_EQ(e[sp + "demo_pkg/__init__.py"]->source, InstallEntry::Source::HostFile);
}

TEST_F(WheelInstall, RecordListsEveryInstalledFileWithItsHash) {
  auto wheel = demo().write(tmp_->path());
  auto p = plan(wheel, {.prefix = "/opt/conda", .python = kPython311, .requested = true});
  ASSERT_TRUE(p) << p.error().to_string();
  auto e = by_path(*p);
  const std::string sp = "opt/conda/lib/python3.11/site-packages/";
  std::string record = content(*e[sp + "demo_pkg-2.5.dist-info/RECORD"]);
  auto rows = pypi::detail::parse_record(record, "RECORD");
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(rows->size(), p->entries.size());
  std::set<std::string> listed;
  for (const auto& row : *rows) {
    std::string path = (fs::path(sp) / row.path).lexically_normal().generic_string();
    listed.insert(path);
    ASSERT_TRUE(e.contains(path)) << row.path;
    if (row.path == "demo_pkg-2.5.dist-info/RECORD") {
      EXPECT_EQ(row.hash, "");
      EXPECT_FALSE(row.size);
      continue;
    }
    std::string data = content(*e[path]);
    EXPECT_EQ(row.hash, pypi::detail::record_hash(Digest::of(data))) << row.path;
    EXPECT_EQ(row.size, data.size()) << row.path;
  }
  EXPECT_EQ(listed.size(), e.size());
  EXPECT_TRUE(record.starts_with("../../../bin/demo-cli,sha256=")) << record;
}

TEST_F(WheelInstall, DirectUrlWithoutCredentialsAndNoRequested) {
  auto wheel = demo().write(tmp_->path());
  Digest sha = Digest::of("wheel bytes");
  auto p = plan(wheel, {.prefix = "/opt/conda",
                        .python = kPython311,
                        .direct_url = DirectUrl{"https://user:secret@example.org/w/demo.whl", sha}});
  ASSERT_TRUE(p) << p.error().to_string();
  auto e = by_path(*p);
  const std::string di = "opt/conda/lib/python3.11/site-packages/demo_pkg-2.5.dist-info/";
  EXPECT_FALSE(e.contains(di + "REQUESTED"));
  ASSERT_TRUE(e.contains(di + "direct_url.json"));
  EXPECT_EQ(content(*e[di + "direct_url.json"]),
            "{\"archive_info\":{\"hash\":\"sha256=" + sha.hex() + "\",\"hashes\":{\"sha256\":\"" +
                sha.hex() + "\"}},\"url\":\"https://example.org/w/demo.whl\"}\n");
}

TEST_F(WheelInstall, LongPrefixAndFreeThreadedPython) {
  std::string prefix = "/opt/" + std::string(130, 'p');
  auto wheel = demo().write(tmp_->path());
  auto p = plan(wheel, {.prefix = prefix,
                        .python = {"3.13", "lib/python3.13t/site-packages"}});
  ASSERT_TRUE(p) << p.error().to_string();
  auto e = by_path(*p);
  std::string rel = prefix.substr(1);
  ASSERT_TRUE(e.contains(rel + "/include/python3.13t/demo_pkg/demo.h"));
  ASSERT_TRUE(e.contains(rel + "/lib/python3.13t/site-packages/demo_pkg/__init__.py"));
  // Past the kernel's shebang limit, sh runs the interpreter.
  EXPECT_TRUE(content(*e[rel + "/bin/demo-script"]).starts_with("#!/bin/sh\n'''exec' \"" + prefix +
                                                                "/bin/python\""));
}

TEST_F(WheelInstall, CollisionsAndUnknownSchemesAreRefused) {
  TestWheel twice = demo();
  twice.files.push_back({"demo_pkg-2.5.data/purelib/demo_pkg/__init__.py", "other\n"});
  auto p = plan(twice.write(tmp_->path()), {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().to_string().find("demo_pkg/__init__.py"), std::string::npos)
      << p.error().to_string();
  EXPECT_NE(p.error().to_string().find("installing wheel demo_pkg-2.5-py3-none-any.whl"),
            std::string::npos);

  TestWheel clash = demo();
  clash.entry_points = "[console_scripts]\ndemo-script = demo_pkg:main\n";
  fs::create_directories(tmp_->path() / "clash");
  p = plan(clash.write(tmp_->path() / "clash"), {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().to_string().find("entry point 'demo-script'"), std::string::npos)
      << p.error().to_string();

  TestWheel scheme = demo();
  scheme.files.push_back({"demo_pkg-2.5.data/etc/x.conf", "x\n"});
  fs::create_directories(tmp_->path() / "scheme");
  p = plan(scheme.write(tmp_->path() / "scheme"), {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code(), Code::Unsupported);
  EXPECT_NE(p.error().to_string().find("unknown scheme 'etc'"), std::string::npos);

  TestWheel no_function = demo();
  no_function.entry_points = "[console_scripts]\nx = demo_pkg\n";
  fs::create_directories(tmp_->path() / "nofn");
  p = plan(no_function.write(tmp_->path() / "nofn"), {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().to_string().find("names no function"), std::string::npos);
}

TEST_F(WheelInstall, MetadataNameMustBeTheWheels) {
  TestWheel w = demo();
  // Re-made with a METADATA that names another project (and a RECORD that matches it).
  w.files.push_back({"demo_pkg-2.5.dist-info/METADATA", "Name: ../../evil\nVersion: 1\n"});
  auto file = w.write(tmp_->path());
  // Two METADATA members: refused at extraction already.
  EXPECT_FALSE(extract_wheel(file, tmp_->path() / "y"));
  // A directory handed to plan_wheel directly is checked too.
  fs::path dir = tmp_->path() / "z";
  ASSERT_TRUE(extract_wheel(demo().write(tmp_->path()), dir));
  ASSERT_TRUE(write_file_atomic(dir / "demo_pkg-2.5.dist-info/METADATA", "Name: ../../evil\nVersion: 1\n"));
  auto p = plan_wheel(dir, "demo_pkg-2.5-py3-none-any.whl", {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().to_string().find("is not a distribution name"), std::string::npos);
  // A file that RECORD does not list (not extracted by extract_wheel) is refused.
  fs::path dir2 = tmp_->path() / "z2";
  ASSERT_TRUE(extract_wheel(demo().write(tmp_->path()), dir2));
  ASSERT_TRUE(write_file_atomic(dir2 / "demo_pkg/added.py", "x\n"));
  p = plan_wheel(dir2, "demo_pkg-2.5-py3-none-any.whl", {.python = kPython311});
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().to_string().find("'demo_pkg/added.py' is not listed in RECORD"),
            std::string::npos);
}

TEST_F(WheelInstall, HostPythonImportsTheInstalledWheel) {
  std::string version = test::host_python_version();
  if (version != "3.11") GTEST_SKIP() << "needs the host's python3 3.11 (have '" << version << "')";
  auto p = plan(demo().write(tmp_->path()), {.python = kPython311, .requested = true});
  ASSERT_TRUE(p) << p.error().to_string();
  fs::path site = write({*p});
  auto r = run_process("python3",
                       {"python3", "-S", "-c",
                        "import sys; sys.path.insert(0, sys.argv[1])\n"
                        "import importlib.metadata as m, demo_pkg, demo_native, demo_extra\n"
                        "assert demo_pkg.__file__.startswith(sys.argv[1]), demo_pkg.__file__\n"
                        "print(m.version('demo-pkg'), demo_native.KIND, demo_extra.KIND)\n"
                        "d = m.distribution('demo_pkg')\n"
                        "print(sorted(e.name for e in d.entry_points if e.group == 'console_scripts'))\n"
                        "print(d.read_text('INSTALLER').strip(), d.read_text('REQUESTED') == '')\n"
                        "bad = [str(f) for f in d.files if f.hash and f.hash.value != __import__('base64')"
                        ".urlsafe_b64encode(__import__('hashlib').sha256(f.read_binary()).digest())"
                        ".rstrip(b'=').decode()]\n"
                        "print('bad hashes', bad)\n",
                        site.string()});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->succeeded()) << r->err;
  EXPECT_EQ(r->out,
            "2.5 platlib purelib\n['demo-cli']\ndocker-envs True\nbad hashes []\n");
}

// Debian's wheels of pip, setuptools and wheel (python3-pip-whl, python3-setuptools-whl,
// python3-wheel-whl).
std::vector<fs::path> debian_wheels() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const char* prefix : {"pip-", "setuptools-", "wheel-"})
    for (const auto& e : fs::directory_iterator("/usr/share/python-wheels", ec))
      if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".whl")
        out.push_back(e.path());
  return out;
}

TEST_F(WheelInstall, RealWheelsImportAndRunFromThePrefix) {
  auto wheels = debian_wheels();
  if (wheels.size() < 3)
    GTEST_SKIP() << "needs python3-pip-whl, python3-setuptools-whl and python3-wheel-whl";
  std::string version = test::host_python_version();
  if (version != "3.11") GTEST_SKIP() << "needs the host's python3 3.11 (have '" << version << "')";
  // A prefix on the host, so that the scripts' interpreter path is real: bin/python is the host's.
  fs::path prefix_dir = root() / "env";
  std::string prefix = prefix_dir.string();
  std::vector<WheelPlan> plans;
  std::map<std::string, std::string> versions;
  for (const auto& wheel : wheels) {
    auto p = plan(wheel, {.prefix = prefix, .python = kPython311, .requested = true});
    ASSERT_TRUE(p) << p.error().to_string();
    EXPECT_TRUE(p->warnings.empty());
    versions[p->name] = p->version;
    plans.push_back(std::move(*p));
  }
  // Written with the image root = "/": the entries' paths are the prefix's absolute path.
  conda::InstallPlan all;
  for (auto& p : plans)
    for (auto& e : p.entries) {
      e.path = e.path.substr(prefix.size());  // relative to the prefix
      all.entries.push_back(e);
    }
  auto st = conda::write_to_directory(all, prefix_dir, prefix, {.link = conda::LinkMode::Copy});
  ASSERT_TRUE(st) << st.error().to_string();
  fs::path site = prefix_dir / "lib/python3.11/site-packages";

  std::string script =
      "import sys; sys.path.insert(0, sys.argv[1])\n"
      "import importlib.metadata as m, pip, setuptools, wheel, hashlib, base64, os\n"
      "for mod in (pip, setuptools, wheel):\n"
      "    assert mod.__file__.startswith(sys.argv[1]), mod.__file__\n"
      "bad = []\n"
      "for name in ('pip', 'setuptools', 'wheel'):\n"
      "    d = m.distribution(name)\n"
      "    print(name, d.version)\n"
      "    for f in d.files:\n"
      "        p = f.locate()\n"
      "        if not os.path.isfile(p): bad.append('missing ' + str(f)); continue\n"
      "        if f.hash is None: continue\n"
      "        h = base64.urlsafe_b64encode(hashlib.sha256(f.read_binary()).digest()).rstrip(b'=')\n"
      "        if h.decode() != f.hash.value or os.path.getsize(p) != f.size: bad.append(str(f))\n"
      "print('bad', bad)\n";
  // -S: the host's site-packages (its own setuptools and .pth hooks) stay out of the way.
  auto r = run_process("python3", {"python3", "-S", "-c", script, site.string()});
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->succeeded()) << r->err;
  EXPECT_EQ(r->out, "pip " + versions["pip"] + "\nsetuptools " + versions["setuptools"] +
                        "\nwheel " + versions["wheel"] + "\nbad []\n");

  // The console scripts name the prefix's interpreter; with it there, they run.
  auto pip_script = read_file(prefix_dir / "bin/pip");
  ASSERT_TRUE(pip_script);
  EXPECT_TRUE(pip_script->starts_with("#!" + prefix + "/bin/python\n")) << *pip_script;
  EXPECT_TRUE(fs::is_regular_file(prefix_dir / "bin/pip3.11"));
  EXPECT_TRUE(fs::is_regular_file(prefix_dir / "bin/wheel"));
  auto exe = run_process("python3", {"python3", "-c", "import sys; print(sys.executable)"});
  ASSERT_TRUE(exe && exe->succeeded());
  std::string host_python = exe->out.substr(0, exe->out.find('\n'));
  fs::create_symlink(host_python, prefix_dir / "bin/python");
  auto run = run_process("env", {"env", "PYTHONPATH=" + site.string(),
                                 (prefix_dir / "bin/pip").string(), "--version"});
  ASSERT_TRUE(run);
  EXPECT_TRUE(run->succeeded()) << run->err;
  EXPECT_TRUE(run->out.starts_with("pip " + versions["pip"] + " from " + site.string()))
      << run->out;
}

}  // namespace
}  // namespace de::pypi
