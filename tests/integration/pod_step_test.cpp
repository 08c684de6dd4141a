// The pod step as netlab runs it: socket activation (netlab binds the pod's listening socket in its
// namespace before the pod runs, the pod inherits it as fd 3), a readiness pipe instead of polling,
// and stopping through a pidfd. The pods are the netlab binary under test ($NETLAB), in scratch
// namespaces or in a test lab's own; nothing touches the root namespace, the only traffic stays
// inside those namespaces. Every pod a test starts is stopped by a guard even when a check fails.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "lab/action.h"
#include "base/error.h"
#include "lab/journal.h"
#include "lab/params.h"
#include "lab/registry.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "steps/pod.h"
#include "steps/register.h"
#include "tests/integration/lab_support.h"
#include "tests/integration/support.h"

using namespace netlab;
using namespace netlab::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr uint16_t kPort = 8080;

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

// A pod step (kind "pod") applied directly in a scratch namespace, with a journal of its own. The
// lab is "default", whose namespace names are used as they are: the pod runs in the scratch
// namespace. The destructor stops any pod of its name that is left.
struct PodStep {
    ScratchNetns ns;
    std::string name;
    fs::path dir;
    lab::Registry reg;
    std::unique_ptr<lab::Journal> journal;
    std::ostringstream out;
    lab::Context ctx;
    std::unique_ptr<lab::Action> action;

    explicit PodStep(const std::string& tag)
        : ns(tag), name("pod-" + std::to_string(::getpid()) + "-" + tag),
          dir(fs::temp_directory_path() / ("netlab-podstep-" + std::to_string(::getpid()) + "-" + tag)) {
        fs::create_directories(dir);
        steps::register_pod(reg);
        journal = std::make_unique<lab::Journal>(dir / "journal.toml");
        ctx.journal = journal.get();
        ctx.step = "pods";
        ctx.out = &out;
        ctx.state_dir = dir;
        ctx.self_exe = netlab_bin();
        toml::table t{{"ns", ns.name()}, {"name", name}, {"port", kPort}};
        action = reg.make_action("pod", lab::Params(t, "test"));
    }
    ~PodStep() {
        for (int pid : steps::find_pods("default", name)) steps::stop_found_pod(pid);
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::vector<lab::Record> records() const { return journal->records("pods"); }
};

// Gone: /proc/PID absent, or a zombie nobody reaped yet.
bool gone(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    if (!std::getline(in, s)) return true;
    auto rp = s.rfind(')');
    return rp != std::string::npos && rp + 2 < s.size() && s[rp + 2] == 'Z';
}

std::string cmdline(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    for (auto& c : s)
        if (c == '\0') c = ' ';
    return s;
}

std::string fd_target(int pid, int fd) {
    std::error_code ec;
    auto t = fs::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
    return ec ? "" : t.string();
}

sockaddr_in any_addr(uint16_t port, uint32_t host = INADDR_ANY) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(host);
    return a;
}

// A plain TCP listener on 0.0.0.0:PORT in netns NS, made by the test (no SO_REUSEADDR).
UniqueFd listener_in(const std::string& ns, uint16_t port) {
    net::NetnsGuard in(ns);
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto a = any_addr(port);
    if (!s || ::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s.get(), 16) != 0)
        return UniqueFd();
    return s;
}

// A connection to 127.0.0.1:PORT in netns NS that sent one keep-alive request and read its reply.
UniqueFd keep_alive_conn(const std::string& ns, uint16_t port, std::string& reply) {
    net::NetnsGuard in(ns);
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto a = any_addr(port, INADDR_LOOPBACK);
    if (!s || ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
    const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    if (::write(s.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return UniqueFd();
    pollfd p{s.get(), POLLIN, 0};
    char buf[2048];
    if (::poll(&p, 1, 2000) == 1) {
        ssize_t n = ::read(s.get(), buf, sizeof buf);
        if (n > 0) reply.assign(buf, static_cast<size_t>(n));
    }
    return s;
}

// What a read on a connection the server closed returns within 2 s: "eof", "reset", or "open".
std::string after_close(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return "open";
    char b;
    ssize_t n = ::read(fd, &b, 1);
    return n == 0 ? "eof" : (n < 0 && errno == ECONNRESET) ? "reset" : "data";
}

// The kernel's listening sockets on PORT in NS, as the real `ss` lists them ("0.0.0.0:8080 ...").
std::string listening(const std::string& ns, uint16_t port) {
    return sh("ip netns exec " + ns + " ss -Hltn 'sport = :" + std::to_string(port) + "' | awk '{print $4}'").out;
}

}  // namespace

TEST_CASE("pod step: the pod serves as soon as apply returns; stop_pod ends it at once despite keep-alive") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string root_before = root_fingerprint();
    {
        PodStep step("p1");
        // A descriptor of this test that is not close-on-exec: the pod must not inherit it.
        const fs::path marker = step.dir / "stray-fd";
        // (Above 4: fds 3 and 4 of the child are replaced by the socket and the pipe anyway.)
        UniqueFd opened(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        REQUIRE(opened);
        UniqueFd stray(::fcntl(opened.get(), F_DUPFD, 20));
        REQUIRE(stray);

        auto t = Clock::now();
        step.action->apply(step.ctx);
        MESSAGE("apply (socket, spawn, ready byte) took " << ms_since(t) << " ms");

        auto recs = step.records();
        REQUIRE(recs.size() == 1);
        CHECK(recs[0].kind == "pod");
        CHECK(recs[0].done);
        REQUIRE(recs[0].data.count("pid"));
        REQUIRE(recs[0].data.count("start"));
        const int pid = std::stoi(recs[0].data.at("pid"));
        const std::string start = recs[0].data.at("start");
        REQUIRE(steps::pod_alive(pid, start));
        CHECK(steps::find_pods("default", step.name) == std::vector<int>{pid});

        // One GET, no retry: the socket listened before the pod ran, and the pod said it serves.
        {
            net::NetnsGuard in(step.ns.name());
            auto r = pods::http_get("127.0.0.1", kPort, "/", milliseconds(2000));
            INFO(r.error);
            CHECK(r.ok);
            CHECK(r.pod == step.name);
            CHECK(r.pod_addr == "127.0.0.1");
            CHECK(r.pod_port == kPort);
        }
        CHECK(listening(step.ns.name(), kPort) == "0.0.0.0:8080\n");

        // Started socket-activated: the socket as fd 3, the ready pipe (fd 4) closed once used,
        // and no descriptor of its starter besides those.
        CHECK(cmdline(pid) == netlab_bin() + " pod --lab default --name " + step.name +
                                  " --port 8080 --listen-fd 3 --ready-fd 4 ");
        CHECK(fd_target(pid, 3).rfind("socket:[", 0) == 0);
        CHECK(fd_target(pid, 4) == "");
        for (auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
            std::error_code ec;
            CHECK(fs::read_symlink(e.path(), ec) != marker);
        }

        // A keep-alive connection stays open while the pod is stopped: the exit must not wait for it.
        std::string reply;
        UniqueFd conn = keep_alive_conn(step.ns.name(), kPort, reply);
        REQUIRE(conn);
        CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
        CHECK(reply.find("Connection: close") == std::string::npos);
        t = Clock::now();
        steps::stop_pod(pid, start);
        const long stop_ms = ms_since(t);
        MESSAGE("stop_pod took " << stop_ms << " ms");
        CHECK(stop_ms < 1000);  // SIGTERM did it: SIGKILL would only follow after 2 s
        CHECK(gone(pid));
        CHECK(after_close(conn.get()) != "open");
        CHECK(listening(step.ns.name(), kPort) == "");

        // Undo of the record: the pod is gone already (success), its log is removed.
        const fs::path log = recs[0].data.at("log");
        CHECK(fs::exists(log));
        step.reg.undo(step.ctx, recs[0]);
        CHECK(!fs::exists(log));
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("pod step: a port taken in the namespace fails apply with the bind error and starts nothing") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string root_before = root_fingerprint();
    {
        PodStep step("p2");
        UniqueFd blocker = listener_in(step.ns.name(), kPort);
        REQUIRE(blocker);

        std::string msg;
        try {
            step.action->apply(step.ctx);
        } catch (const Error& e) {
            msg = e.what();
        }
        CHECK(msg == "start pod " + step.name + " in netns " + step.ns.name() + ": bind 0.0.0.0:8080: Address already in use");
        CHECK(steps::find_pods("default", step.name).empty());
        // The record journaled before the attempt is pending and names no process; undoing it (what
        // the runner's rollback does) finds nothing to stop.
        auto recs = step.records();
        REQUIRE(recs.size() == 1);
        CHECK(!recs[0].done);
        CHECK(recs[0].data.count("pid") == 0);
        step.reg.undo(step.ctx, recs[0]);
        // The other listener is untouched: still the only one on the port.
        CHECK(listening(step.ns.name(), kPort) == "0.0.0.0:8080\n");
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("pod step: a pod that exits at once fails apply at once, with its log") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    PodStep step("p4");
    step.ctx.self_exe = "/bin/sh";  // runs "sh pod --lab ...": no script named pod, it exits with a message
    std::string msg;
    auto t = Clock::now();
    try {
        step.action->apply(step.ctx);
    } catch (const Error& e) {
        msg = e.what();
    }
    const long took = ms_since(t);
    INFO(msg);
    CHECK(msg.rfind("start pod " + step.name + " in netns " + step.ns.name() + ": it exited: ", 0) == 0);
    CHECK(msg.find("pod") != msg.rfind("pod"));  // the shell's complaint about "pod", from the log
    CHECK(took < 2000);                          // EOF on the ready pipe, not the 5 s bound
    auto recs = step.records();
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].data.count("pid") == 0);
    CHECK(listening(step.ns.name(), kPort) == "");  // netlab's socket went with the process
}

TEST_CASE("pod step: netlab run stops at a taken port with the bind error and leaves no pod behind") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("p2");
        REQUIRE(lab.run("run --until masquerade --no-verify").rc == 0);
        UniqueFd blocker = listener_in(lab.ns("netns_dustin"), kPort);
        REQUIRE(blocker);
        auto r = lab.run("run --until pods --no-verify");
        INFO(r.out);
        CHECK(r.rc == 1);
        CHECK(r.out.find("start pod netns_dustin in netns " + lab.ns("netns_dustin") +
                         ": bind 0.0.0.0:8080: Address already in use") != std::string::npos);
        CHECK(sh("pgrep -af '[n]etlab pod --lab " + lab.name() + " --name netns_' ").out == "");
        auto s = lab.run("status");
        CHECK(s.out.find("last 'masquerade'") != std::string::npos);
        blocker.reset();
        auto again = lab.run("run --until pods --no-verify");
        INFO(again.out);
        CHECK(again.rc == 0);
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("pod step: pods started by netlab run answer at once and stop at once, though not our children") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string root_before = root_fingerprint();
    {
        TestLab lab("p1");
        auto r = lab.run("run --until pods --no-verify");
        INFO(r.out);
        REQUIRE(r.rc == 0);
        // Right after netlab returned: one request each, from the lab host, no retry.
        const std::vector<std::pair<std::string, std::string>> pods = {
            {"203.0.113.254", "world"}, {"10.0.0.11", "netns_dustin"}, {"10.0.0.21", "netns_leah"}};
        {
            net::NetnsGuard in(lab.ns("netlab"));
            for (auto& [addr, name] : pods) {
                auto g = pods::http_get(addr, kPort, "/", milliseconds(2000));
                INFO(addr << ": " << g.error);
                CHECK(g.ok);
                CHECK(g.pod == name);
            }
        }
        // Their pids from the lab's journal, stopped from here (their parent was netlab, gone now).
        lab::Journal journal(lab.state_dir() / lab.name() / "journal.toml");
        int stopped = 0;
        for (const char* step : {"lab-host", "pods"}) {
            for (auto& rec : journal.records(step)) {
                if (rec.kind != "pod") continue;
                const int pid = std::stoi(rec.data.at("pid"));
                CHECK(steps::pod_alive(pid, rec.data.at("start")));
                auto t = Clock::now();
                steps::stop_pod(pid, rec.data.at("start"));
                CHECK(ms_since(t) < 1000);
                CHECK(gone(pid));
                ++stopped;
            }
        }
        CHECK(stopped == 3);
        CHECK(sh("pgrep -af '[n]etlab pod --lab " + lab.name() + " ' ").out == "");
        // Undo treats the pods as already gone.
        auto u = lab.run("undo --all");
        INFO(u.out);
        CHECK(u.rc == 0);
    }
    CHECK(root_fingerprint() == root_before);
}

TEST_CASE("pod step: netlab pod --listen-fd refuses what is not a listening TCP socket, exit 2") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    ScratchNetns ns("p3");  // were the check missing, the pod would serve here, not in the root namespace
    const std::string pod = netlab_bin() + " pod --name x --port 8080 ";
    auto run = [&](const std::string& args) { return ns.exec(pod + args, 10); };

    auto devnull = run("--listen-fd 5 5</dev/null");
    CHECK(devnull.rc == 2);
    CHECK(devnull.out == "netlab pod x: --listen-fd 5: not a socket\n");
    auto pipe = ns.exec("echo | " + pod + "--listen-fd 0", 10);
    CHECK(pipe.rc == 2);
    CHECK(pipe.out == "netlab pod x: --listen-fd 0: not a socket\n");
    auto closed = run("--listen-fd 1000");
    CHECK(closed.rc == 2);
    CHECK(closed.out == "netlab pod x: --listen-fd 1000: not an open file descriptor\n");

    // Sockets made here without close-on-exec, inherited through sh and `ip netns exec`: a TCP
    // socket that is not listening (never bound: no port is used), and a UDP one.
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM, 0));
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM, 0));
    REQUIRE(tcp);
    REQUIRE(udp);
    auto t = run("--listen-fd " + std::to_string(tcp.get()));
    CHECK(t.rc == 2);
    CHECK(t.out == "netlab pod x: --listen-fd " + std::to_string(tcp.get()) + ": a TCP socket that is not listening\n");
    auto u = run("--listen-fd " + std::to_string(udp.get()));
    CHECK(u.rc == 2);
    CHECK(u.out == "netlab pod x: --listen-fd " + std::to_string(udp.get()) + ": not a TCP socket\n");

    auto ready = run("--ready-fd 1000");
    CHECK(ready.rc == 2);
    CHECK(ready.out == "netlab pod x: --ready-fd 1000: not an open file descriptor\n");
    CHECK(listening(ns.name(), 8080) == "");
}
