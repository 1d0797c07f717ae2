// Wheel extraction: what a good wheel gives, and every kind of hostile wheel refused with an error
// naming the wheel and the member, with nothing written outside the destination.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "docker_envs/base/io.hpp"
#include "docker_envs/conda/package_cache.hpp"
#include "docker_envs/pypi/wheel_archive.hpp"
#include "pypi/wheel_test_util.hpp"

namespace de::pypi {
namespace {

namespace fs = std::filesystem;
using test::TestWheel;
using test::ZipMember;

class WheelArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::create();
    ASSERT_TRUE(t);
    tmp_ = std::make_unique<TempDir>(std::move(*t));
    // The destination is nested so that "../" and "../../" of a member land in directories the
    // test can look at.
    dest_ = tmp_->path() / "a" / "b" / "dest";
    fs::create_directories(dest_.parent_path());
  }

  // The error extracting `w`, which must fail; checks that nothing lies outside dest_.
  Error refused(const TestWheel& w) {
    auto file = w.write(tmp_->path());
    auto st = extract_wheel(file, dest_);
    EXPECT_FALSE(st) << "extracting " << w.file_name() << " succeeded";
    EXPECT_TRUE(outside_untouched());
    if (st) return Error(Code::Internal, "no error");
    EXPECT_NE(st.error().to_string().find(w.file_name()), std::string::npos)
        << st.error().to_string();
    return st.error();
  }

  bool outside_untouched() const {
    // tmp/{the wheel, a/{b/{dest}}}: anything else was written by a member that escaped.
    std::vector<std::string> seen;
    for (auto it = fs::recursive_directory_iterator(tmp_->path()); it != fs::end(it); ++it) {
      fs::path rel = it->path().lexically_relative(tmp_->path());
      if (*rel.begin() == "a" && rel.string().starts_with("a/b/dest/")) {
        it.disable_recursion_pending();
        continue;
      }
      std::string s = rel.string();
      if (s == "a" || s == "a/b" || s == "a/b/dest" || s.ends_with(".whl")) continue;
      ADD_FAILURE() << "written outside the destination: " << s;
      return false;
    }
    return true;
  }

  static TestWheel good() {
    TestWheel w;
    w.files = {{"demo/__init__.py", "VALUE = 1\n"},
               {"demo/tool.sh", "#!/bin/sh\necho hi\n", 0100755},
               {"demo-1.0.data/scripts/run", "#!python\nprint('run')\n"}};
    return w;
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path dest_;
};

TEST_F(WheelArchive, ExtractsAndKeepsOnlyTheExecutableBit) {
  TestWheel w = good();
  w.files.push_back({"demo/setuid", "x", 0104775});
  auto file = w.write(tmp_->path());
  auto st = extract_wheel(file, dest_);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(dest_ / "demo/__init__.py").value(), "VALUE = 1\n");
  struct stat s;
  ASSERT_EQ(::lstat((dest_ / "demo/tool.sh").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0755u);
  ASSERT_EQ(::lstat((dest_ / "demo/__init__.py").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0644u);
  ASSERT_EQ(::lstat((dest_ / "demo/setuid").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0755u);
  EXPECT_TRUE(fs::is_regular_file(dest_ / "demo-1.0.dist-info/RECORD"));
}

TEST_F(WheelArchive, DestinationIsNewOrEmpty) {
  fs::create_directories(dest_ / "old");
  auto file = good().write(tmp_->path());
  EXPECT_FALSE(extract_wheel(file, dest_));  // not empty: refused, left as it was
  EXPECT_EQ(std::distance(fs::directory_iterator(dest_), fs::directory_iterator()), 1);
  fs::remove(dest_ / "old");
  EXPECT_TRUE(extract_wheel(file, dest_));  // empty (made and registered by a caller): used
}

TEST_F(WheelArchive, PathEscapesAreRefused) {
  for (const char* name : {"../escape.py", "../../escape.py", "demo/../../escape.py",
                           "/tmp/escape.py"}) {
    SCOPED_TRACE(name);
    TestWheel w = good();
    w.files.push_back({name, "x"});
    Error e = refused(w);
    EXPECT_NE(e.to_string().find(name), std::string::npos) << e.to_string();
    EXPECT_EQ(e.code(), Code::InvalidArgument);
    fs::remove_all(dest_);
  }
}

TEST_F(WheelArchive, LinksAndSpecialFilesAreRefused) {
  struct Case {
    const char* kind;
    std::uint32_t mode;
    const char* data;
  };
  for (const Case& c : {Case{"symlink", 0120777, "/etc/passwd"},
                        Case{"symlink", 0120777, "../../.."},
                        Case{"device", 0020644, ""},   // character device
                        Case{"device", 0060644, ""}}) {  // block device
    // (libarchive's zip reader presents a FIFO member as a regular file: only regular files are
    // ever created, so that is harmless.)
    SCOPED_TRACE(c.kind);
    TestWheel w = good();
    w.files.push_back({"demo/link", c.data, c.mode});
    Error e = refused(w);
    EXPECT_NE(e.to_string().find("member 'demo/link'"), std::string::npos) << e.to_string();
    EXPECT_NE(e.to_string().find(c.kind), std::string::npos) << e.to_string();
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest_ / "demo/link")));
    fs::remove_all(dest_);
  }
}

TEST_F(WheelArchive, AFileBelowALinkCannotBeWrittenThroughIt) {
  TestWheel w = good();
  w.files.insert(w.files.begin(), {"demo/out", "../../..", 0120777});
  w.files.push_back({"demo/out/escape.py", "x"});
  refused(w);
}

TEST_F(WheelArchive, MemberMissingFromRecordIsRefused) {
  TestWheel w = good();
  w.unrecorded.push_back({"demo/extra.py", "sneaky\n"});
  Error e = refused(w);
  EXPECT_NE(e.to_string().find("'demo/extra.py' is not listed in"), std::string::npos)
      << e.to_string();
  EXPECT_EQ(e.code(), Code::Corruption);
}

TEST_F(WheelArchive, HashOrSizeMismatchIsRefused) {
  TestWheel w = good();
  w.edit_record = [](std::string& record) {
    auto at = record.find("demo/__init__.py,sha256=");
    record[at + 24] = record[at + 24] == 'A' ? 'B' : 'A';
  };
  Error e = refused(w);
  EXPECT_NE(e.to_string().find("member 'demo/__init__.py': sha256"), std::string::npos)
      << e.to_string();
  fs::remove_all(dest_);

  TestWheel sized = good();
  sized.edit_record = [](std::string& record) {
    auto at = record.find(",10\n");  // "VALUE = 1\n" is 10 bytes
    record.replace(at, 4, ",11\n");
  };
  e = refused(sized);
  EXPECT_NE(e.to_string().find("member 'demo/__init__.py': size is 10"), std::string::npos)
      << e.to_string();
  fs::remove_all(dest_);

  TestWheel unhashed = good();
  unhashed.edit_record = [](std::string& record) {
    auto at = record.find("demo/__init__.py,");
    auto end = record.find('\n', at);
    record.replace(at, end - at, "demo/__init__.py,,");
  };
  e = refused(unhashed);
  EXPECT_NE(e.to_string().find("'demo/__init__.py' has no hash"), std::string::npos)
      << e.to_string();
}

TEST_F(WheelArchive, RecordPathsOutsideTheWheelAreRefused) {
  for (const char* path : {"../../../bin/evil", "/usr/bin/evil"}) {
    SCOPED_TRACE(path);
    TestWheel w = good();
    w.edit_record = [&](std::string& record) {
      record += std::string(path) + ",sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n";
    };
    Error e = refused(w);
    EXPECT_NE(e.to_string().find(path), std::string::npos) << e.to_string();
    EXPECT_NE(e.to_string().find("demo-1.0.dist-info/RECORD:"), std::string::npos)
        << e.to_string();
    fs::remove_all(dest_);
  }
}

TEST_F(WheelArchive, DuplicateMembersAreRefused) {
  TestWheel w = good();
  w.unrecorded.push_back({"demo/__init__.py", "VALUE = 2\n"});
  Error e = refused(w);
  EXPECT_NE(e.to_string().find("member 'demo/__init__.py': refused: listed twice"),
            std::string::npos)
      << e.to_string();
}

TEST_F(WheelArchive, DistInfoAndWheelFileMustBeRight) {
  TestWheel other = good();
  other.unrecorded.push_back({"other-1.0.dist-info/METADATA", "Name: other\n"});
  EXPECT_NE(refused(other).to_string().find("several .dist-info"), std::string::npos);
  fs::remove_all(dest_);

  TestWheel v2 = good();
  v2.wheel_text = "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n";
  Error e = refused(v2);
  EXPECT_EQ(e.code(), Code::Unsupported);
  EXPECT_NE(e.to_string().find("Wheel-Version 2.0"), std::string::npos) << e.to_string();
  fs::remove_all(dest_);

  // A wheel whose file name says another distribution than its .dist-info.
  TestWheel renamed = good();
  auto file = renamed.write(tmp_->path());
  fs::path wrong = tmp_->path() / "evil-1.0-py3-none-any.whl";
  fs::rename(file, wrong);
  auto st = extract_wheel(wrong, dest_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("not named after 'evil'"), std::string::npos)
      << st.error().to_string();
  fs::remove_all(dest_);

  auto not_wheel = extract_wheel(tmp_->path() / "demo-1.0.tar.gz", dest_);
  ASSERT_FALSE(not_wheel);
  EXPECT_EQ(not_wheel.error().code(), Code::InvalidArgument);
}

TEST_F(WheelArchive, ZipBombStopsAtTheLimit) {
  TestWheel w = good();
  w.files.push_back({"demo/big.bin", std::string(1 << 20, '\0')});
  auto file = w.write(tmp_->path());
  auto st = extract_wheel(file, dest_, {.ratio = 1, .floor = 1000, .absolute = 100000});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("decompression bomb"), std::string::npos);
  EXPECT_TRUE(outside_untouched());
}

TEST_F(WheelArchive, NotAZipIsCorruption) {
  fs::path file = tmp_->path() / "demo-1.0-py3-none-any.whl";
  ASSERT_TRUE(write_file_atomic(file, "not a zip at all"));
  auto st = extract_wheel(file, dest_);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("demo-1.0-py3-none-any.whl"), std::string::npos);
}

TEST_F(WheelArchive, PackageCacheKeepsWheelsByHash) {
  auto file = good().write(tmp_->path());
  conda::PackageCache cache(tmp_->path() / "a/b/dest/cache", wheel_cache_format());
  auto dir = cache.extract(file);
  ASSERT_TRUE(dir) << dir.error().to_string();
  EXPECT_TRUE(dir->filename().string().starts_with("demo-1.0-py3-none-any-"));
  EXPECT_TRUE(fs::is_regular_file(*dir / "demo/__init__.py"));
  // A hostile wheel leaves no entry and no temporary directory behind.
  TestWheel bad = good();
  bad.unrecorded.push_back({"demo/extra.py", "x"});
  fs::path bad_dir = tmp_->path() / "bad";
  fs::create_directories(bad_dir);
  auto bad_file = bad.write(bad_dir);
  EXPECT_FALSE(cache.extract(bad_file));
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(cache.root()))  // .used/: the use stamps
    if (e.is_directory() && !e.path().filename().string().starts_with('.')) ++entries;
  EXPECT_EQ(entries, 1u);
  // The conda format refuses a wheel by name.
  conda::PackageCache conda_cache(tmp_->path() / "a/b/dest/conda");
  EXPECT_FALSE(conda_cache.extract(file));
}

}  // namespace
}  // namespace de::pypi
