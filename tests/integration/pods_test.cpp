// The pod server and client across real network namespaces: two scratch namespaces joined by a veth
// pair made with the real `ip`, a pod in one (a child process that setns'es before serving), queried
// from the other (this thread setns'es and comes back), with curl as an independent witness.
// Nothing touches the root namespace; the only traffic is inside the scratch namespaces.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "pods/http_client.h"
#include "pods/pod_server.h"
#include "tests/integration/support.h"

using namespace netlab::pods;
using netlab::test::ScratchNetns;
using netlab::test::sh;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

unsigned long thread_netns_inode() {
    struct stat st {};
    if (::stat("/proc/thread-self/ns/net", &st) != 0) return 0;
    return st.st_ino;
}

// The calling thread in /run/netns/NAME until the destructor switches it back.
class InNetns {
public:
    explicit InNetns(const std::string& name) {
        saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        REQUIRE(saved_ >= 0);
        int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
            if (fd >= 0) ::close(fd);
            ::close(saved_);
            FAIL("cannot enter netns " << name);
        }
        ::close(fd);
    }
    ~InNetns() {
        if (::setns(saved_, CLONE_NEWNET) != 0) {
            std::perror("setns back to the original netns");
            std::abort();  // never go on in the wrong namespace
        }
        ::close(saved_);
    }
    InNetns(const InNetns&) = delete;
    InNetns& operator=(const InNetns&) = delete;

private:
    int saved_ = -1;
};

// A pod server in a child process inside netns NAME. The destructor kills it whatever happened.
class PodInNetns {
public:
    PodInNetns(const std::string& netns, PodServerOptions opt) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        std::cout.flush();
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::close(fds[0]);
            int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(120);
            ::close(fd);
            ::dup2(fds[1], STDOUT_FILENO);
            ::close(fds[1]);
            ::_exit(run_pod_server(opt));
        }
        ::close(fds[1]);
        out_fd_ = fds[0];
        auto start = Clock::now();
        while (line_.find('\n') == std::string::npos && Clock::now() - start < std::chrono::seconds(5)) {
            pollfd p{out_fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            char buf[256];
            ssize_t n = ::read(out_fd_, buf, sizeof buf);
            if (n <= 0) break;
            line_.append(buf, static_cast<size_t>(n));
        }
        if (auto nl = line_.find('\n'); nl != std::string::npos) line_.resize(nl);
    }
    ~PodInNetns() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_fd_);
    }
    PodInNetns(const PodInNetns&) = delete;
    PodInNetns& operator=(const PodInNetns&) = delete;

    const std::string& line() const { return line_; }

    // SIGTERM, then a bounded wait; the wait status or -1.
    int terminate() {
        ::kill(pid_, SIGTERM);
        auto start = Clock::now();
        while (Clock::now() - start < std::chrono::seconds(5)) {
            int st = 0;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return st;
            }
            std::this_thread::sleep_for(milliseconds(10));
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    std::string line_;
};

// Two scratch namespaces joined by a veth pair: A has 10.9.0.1/24, B has 10.9.0.2/24.
struct TwoNetns {
    ScratchNetns a{"pa"};
    ScratchNetns b{"pb"};
    TwoNetns() {
        auto r = sh("ip -n " + a.name() + " link add veth-pa type veth peer name veth-pb netns " + b.name() +
                    " && ip -n " + a.name() + " addr add 10.9.0.1/24 dev veth-pa && ip -n " + a.name() +
                    " link set veth-pa up && ip -n " + b.name() + " addr add 10.9.0.2/24 dev veth-pb && ip -n " +
                    b.name() + " link set veth-pb up");
        INFO(r.out);
        REQUIRE(r.rc == 0);
    }
};

HttpResult get_from(const std::string& netns, const std::string& host, uint16_t port, const std::string& path = "/") {
    InNetns in(netns);
    // The link may need a moment to come up (DAD is not involved for IPv4, carrier is): retry, bounded.
    HttpResult r;
    for (int i = 0; i < 20; ++i) {
        r = http_get(host, port, path, milliseconds(2000));
        if (r.ok) break;
        std::this_thread::sleep_for(milliseconds(100));
    }
    return r;
}

bool have_curl() { return sh("command -v curl >/dev/null").rc == 0; }

}  // namespace

TEST_CASE("pods: a pod in one namespace is reached from another and reports the client's address") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string before = netlab::test::root_fingerprint();
    const unsigned long my_netns = thread_netns_inode();
    std::string a_name, b_name;
    {
        TwoNetns ns;
        a_name = ns.a.name();
        b_name = ns.b.name();
        PodServerOptions opt;
        opt.name = "netns_pa";
        opt.address = "0.0.0.0";
        opt.port = 8080;
        PodInNetns pod(ns.a.name(), opt);
        REQUIRE(pod.line() == "netlab pod netns_pa listening on 0.0.0.0:8080");

        HttpResult r = get_from(ns.b.name(), "10.9.0.1", 8080);
        CHECK(thread_netns_inode() == my_netns);  // back where we were
        INFO(r.error);
        REQUIRE(r.ok);
        CHECK(r.status == 200);
        CHECK(r.pod == "netns_pa");
        CHECK(r.pod_addr == "10.9.0.1");
        CHECK(r.pod_port == 8080);
        CHECK(r.client_addr == "10.9.0.2");
        CHECK(r.client_port != 0);
        CHECK(r.body == pod_reply_body("netns_pa", "10.9.0.1", 8080, "10.9.0.2", r.client_port, true));

        // From inside A itself the client is A's own address.
        HttpResult self = get_from(ns.a.name(), "10.9.0.1", 8080);
        REQUIRE(self.ok);
        CHECK(self.client_addr == "10.9.0.1");

        if (have_curl()) {
            // curl as an independent witness: the text form by default, JSON on request.
            auto t = ns.b.exec("curl -sS --max-time 5 http://10.9.0.1:8080/");
            INFO(t.out);
            CHECK(t.rc == 0);
            CHECK(t.out.rfind("pod netns_pa at 10.9.0.1:8080 saw client 10.9.0.2:", 0) == 0);
            auto j = ns.b.exec("curl -sS --max-time 5 -H 'Accept: application/json' http://10.9.0.1:8080/");
            INFO(j.out);
            CHECK(j.out.rfind("{\"pod\":\"netns_pa\",\"addr\":\"10.9.0.1\",\"port\":8080,"
                              "\"client_addr\":\"10.9.0.2\",\"client_port\":",
                              0) == 0);
            auto h = ns.b.exec("curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X DELETE http://10.9.0.1:8080/");
            CHECK(h.out == "405");
        } else {
            MESSAGE("curl not installed: witness checks skipped");
        }

        // SIGTERM: exit code 0, and the port is free again (refused, not timed out).
        int st = pod.terminate();
        REQUIRE(st != -1);
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 0);
        {
            InNetns in(ns.b.name());
            HttpResult gone = http_get("10.9.0.1", 8080, "/", milliseconds(2000));
            CHECK(!gone.ok);
            CHECK(gone.error == "connect 10.9.0.1:8080: Connection refused");
        }
        CHECK(thread_netns_inode() == my_netns);
    }
    // Cleaned up: the scratch namespaces are gone, the root namespace is as it was.
    CHECK(sh("ip netns list | grep -E '^(" + a_name + "|" + b_name + ")( |$)'").rc != 0);
    CHECK(netlab::test::root_fingerprint() == before);
}

TEST_CASE("pods: pods on specific addresses in both namespaces, each seeing the other") {
    REQUIRE_MESSAGE(::geteuid() == 0, "the integration suite runs as root");
    const std::string before = netlab::test::root_fingerprint();
    {
        TwoNetns ns;
        PodServerOptions pa;
        pa.name = "netns_pa";
        pa.address = "10.9.0.1";
        pa.port = 8080;
        PodServerOptions pb;
        pb.name = "netns_pb";
        pb.address = "10.9.0.2";
        pb.port = 9090;
        PodInNetns pod_a(ns.a.name(), pa);
        PodInNetns pod_b(ns.b.name(), pb);
        REQUIRE(pod_a.line() == "netlab pod netns_pa listening on 10.9.0.1:8080");
        REQUIRE(pod_b.line() == "netlab pod netns_pb listening on 10.9.0.2:9090");

        HttpResult to_a = get_from(ns.b.name(), "10.9.0.1", 8080, "/?format=json");
        INFO(to_a.error);
        REQUIRE(to_a.ok);
        CHECK(to_a.pod == "netns_pa");
        CHECK(to_a.client_addr == "10.9.0.2");

        HttpResult to_b = get_from(ns.a.name(), "10.9.0.2", 9090);
        INFO(to_b.error);
        REQUIRE(to_b.ok);
        CHECK(to_b.pod == "netns_pb");
        CHECK(to_b.pod_addr == "10.9.0.2");
        CHECK(to_b.pod_port == 9090);
        CHECK(to_b.client_addr == "10.9.0.1");

        // A SYN that is dropped (an nft rule inside A) makes connect time out within the bound.
        auto nft = ns.a.exec("nft add table inet nlt_pods && nft add chain inet nlt_pods in "
                             "'{ type filter hook input priority 0; }' && "
                             "nft add rule inet nlt_pods in tcp dport 7777 drop");
        INFO(nft.out);
        REQUIRE(nft.rc == 0);
        InNetns in(ns.b.name());
        auto t = Clock::now();
        HttpResult dropped = http_get("10.9.0.1", 7777, "/", milliseconds(300));
        auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
        CHECK(!dropped.ok);
        CHECK(dropped.error == "connect 10.9.0.1:7777: timed out after 300 ms");
        CHECK(took >= 250);
        CHECK(took < 2000);

        // A bounded burst of keep-alive-less requests: every one answered, client ports all distinct.
        uint16_t last = 0;
        for (int i = 0; i < 50; ++i) {
            HttpResult r = http_get("10.9.0.1", 8080, "/", milliseconds(2000));
            REQUIRE(r.ok);
            CHECK(r.client_port != last);
            last = r.client_port;
        }
    }
    CHECK(netlab::test::root_fingerprint() == before);
}
