#!/usr/bin/env python3
"""Helpers of the benchmark scripts (scripts/bench.sh, bench/vs-nmap).

Each subcommand reads files the kensa binary, GNU time or nmap wrote and
prints one line (or a short report) on stdout:

  timev FILE                  wall seconds, CPU seconds (user+sys) and peak
                              RSS in KiB from a `/usr/bin/time -v` report
  slowest RESULTS K           ids of the K records with the largest duration_ms
  compositions INVENTORY      one server id per distinct host composition of a
                              simulated fleet (its services, behaviours, limits
                              and delays, from the inventory's notes; banners,
                              names and addresses left out), with the count of
                              servers that share it
  row INVENTORY ID OUT        write a one-row inventory (header + that server)
  hosts INVENTORY PREFIX      the inventory's host addresses, one a line; fails
                              if any is not an IPv4 literal starting with PREFIX
  truth RESULTS TRUTH ITEMS   per item, how many kensa verdicts equal the truth;
                              exits 3 when any verdict differs (or a server has
                              no record)
  nmap-a1 XML TRUTH RESULTS INVENTORY
                              nmap's smtp-open-relay verdicts against truth A1
                              (on the relay ports the inventory lists), next to
                              kensa's, with every disagreement listed

Everything is standard library; nothing here touches the network.
"""

import csv
import ipaddress
import json
import re
import sys
import xml.etree.ElementTree as ET


def die(msg):
    print("benchtool: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_elapsed(s):
    """GNU time's "h:mm:ss" or "m:ss.cc" elapsed wall clock, in seconds."""
    parts = s.strip().split(":")
    secs = 0.0
    for p in parts:
        secs = secs * 60 + float(p)
    return secs


def cmd_timev(path):
    wall = user = sys_ = rss = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                wall = parse_elapsed(line.rsplit(" ", 1)[1])
            elif line.startswith("User time (seconds):"):
                user = float(line.split(":", 1)[1])
            elif line.startswith("System time (seconds):"):
                sys_ = float(line.split(":", 1)[1])
            elif line.startswith("Maximum resident set size (kbytes):"):
                rss = int(line.split(":", 1)[1])
    if None in (wall, user, sys_, rss):
        die("%s is not a complete `/usr/bin/time -v` report" % path)
    print("%.2f %.2f %d" % (wall, user + sys_, rss))


def read_results(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                recs.append(json.loads(line))
            except json.JSONDecodeError as e:
                die("%s line %d: %s" % (path, n, e))
    return recs


def cmd_slowest(path, k):
    recs = read_results(path)
    recs.sort(key=lambda r: (-int(r.get("duration_ms") or 0), r["server"]["id"]))
    for r in recs[: int(k)]:
        print("%s %d" % (r["server"]["id"], int(r.get("duration_ms") or 0)))


def composition(notes):
    """The composition of a simulated host from its inventory notes
    ("simulated: smtp=closed[postfix] imap=tls-required[dovecot] …"):
    every part but the banner set, in order."""
    text = notes.split(":", 1)[1] if notes.startswith("simulated:") else notes
    parts = []
    for p in text.split():
        if p.startswith("banners="):
            continue
        if p.startswith("second="):
            # The second address itself is no part of the composition.
            p = "second" + p[len("second="):].lstrip("0123456789.")
        parts.append(p)
    return " ".join(parts)


def cmd_compositions(inv):
    header, rows = read_csv(inv)
    idx, notes = header.index("id"), header.index("notes")
    first, count, order = {}, {}, []
    for r in rows:
        if not r:
            continue
        key = composition(r[notes])
        if key not in first:
            first[key] = r[idx]
            order.append(key)
        count[key] = count.get(key, 0) + 1
    for key in order:
        print("%s %d %s" % (first[key], count[key], key))


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        die("%s is empty" % path)
    return rows[0], rows[1:]


def cmd_row(inv, sid, out):
    header, rows = read_csv(inv)
    idx = header.index("id")
    hit = [r for r in rows if r and r[idx] == sid]
    if len(hit) != 1:
        die("%s: %d rows with id %s" % (inv, len(hit), sid))
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerow(hit[0])


def cmd_hosts(inv, prefix):
    header, rows = read_csv(inv)
    idx = header.index("host")
    for r in rows:
        h = r[idx]
        try:
            a = ipaddress.ip_address(h)
        except ValueError:
            die("inventory host %r is not an address literal" % h)
        if a.version != 4 or not a.is_loopback or not h.startswith(prefix):
            die("inventory host %s is outside %s*: refusing to aim anything at it" % (h, prefix))
        print(h)


def read_truth(path):
    header, rows = read_csv(path)
    out = {}
    for r in rows:
        if r:
            out[r[0]] = dict(zip(header, r))
    return out


def cmd_truth(results, truth, items):
    want = read_truth(truth)
    recs = read_results(results)
    items = [i for i in items.split(",") if i]
    total_ok = total = 0
    parts = []
    wrong = []
    for it in items:
        ok = n = 0
        for r in recs:
            sid = r["server"]["id"]
            if sid not in want:
                continue
            exp = want[sid].get(it)
            got = (r.get("items", {}).get(it) or {}).get("outcome", "")
            n += 1
            if got == exp:
                ok += 1
            else:
                wrong.append("%s %s: kensa %s, truth %s" % (sid, it, got or "-", exp))
        total_ok += ok
        total += n
        parts.append("%s %d/%d" % (it, ok, n))
    missing = len(set(want) - {r["server"]["id"] for r in recs})
    print("verdicts equal to the truth: %s; all %d/%d (%.1f %%)%s" % (
        ", ".join(parts), total_ok, total, 100.0 * total_ok / max(total, 1),
        "; %d servers without a record" % missing if missing else ""))
    for w in wrong[:10]:
        print("  differs: " + w)
    if len(wrong) > 10:
        print("  … and %d more" % (len(wrong) - 10))
    if wrong or missing:
        # 3: the scan ran, but some verdict is not the truth.
        return 3
    return 0


def nmap_relay(xml_path):
    """Per address, the smtp-open-relay outputs per port."""
    tree = ET.parse(xml_path)
    out = {}
    for host in tree.getroot().iter("host"):
        addr = None
        for a in host.findall("address"):
            if a.get("addrtype") == "ipv4":
                addr = a.get("addr")
        if addr is None:
            continue
        ports = out.setdefault(addr, {})
        for p in host.iter("port"):
            if p.get("protocol") != "tcp":
                continue
            st = p.find("state")
            state = st.get("state") if st is not None else "?"
            for s in p.findall("script"):
                if s.get("id") == "smtp-open-relay":
                    ports[int(p.get("portid"))] = (state, (s.get("output") or "").strip())
            if int(p.get("portid")) in (25, 465, 587) and int(p.get("portid")) not in ports:
                ports[int(p.get("portid"))] = (state, "")
    return out


def nmap_verdict(ports, relay_ports):
    """A1 as nmap's smtp-open-relay output implies it on the relay ports
    the inventory lists: fail if any says open relay, pass if every one
    says it is not, unknown otherwise (no output, errors)."""
    outs = []
    for port in relay_ports:
        state, text = ports.get(port, ("absent", ""))
        if re.search(r"Server is an open relay", text):
            return "fail", "%d: %s" % (port, text.splitlines()[0])
        outs.append((port, state, text))
    if not relay_ports:
        return "na", "no relay-capable service listed"
    why = []
    verdict = "pass"
    for port, state, text in outs:
        first = text.splitlines()[0] if text else ""
        if re.search(r"doesn't seem to be an open relay|isn't an open relay", first):
            why.append("%d: %s" % (port, first))
            continue
        verdict = "unknown"
        why.append("%d: %s" % (port, first or "no script output (port %s)" % state))
    return verdict, "; ".join(why)


def cmd_nmap_a1(xml_path, truth_path, results, inv_path):
    want = read_truth(truth_path)
    header, rows = read_csv(inv_path)
    hi, si, ii = header.index("host"), header.index("services"), header.index("id")
    ni = header.index("notes") if "notes" in header else None
    relay = {}
    addr_of = {}
    behaviour = {}
    for r in rows:
        # The fleet's inventory notes name each service's behaviour
        # ("simulated: smtp=local-sender submission=closed …").
        if ni is not None:
            behaviour[r[ii]] = " ".join(w for w in r[ni].split()
                                        if w.startswith(("smtp=", "submission=", "smtps=")))
        ports = []
        for svc in r[si].split():
            name, _, port = svc.partition(":")
            if name in ("smtp", "submission", "smtps"):
                ports.append(int(port))
        relay[r[ii]] = ports
        addr_of[r[ii]] = r[hi]
    kensa = {}
    for rec in read_results(results):
        kensa[rec["server"]["id"]] = (rec.get("items", {}).get("A1") or {}).get("outcome", "")
    nm = nmap_relay(xml_path)
    n = k_ok = n_ok = 0
    disagree = []
    for sid in sorted(want):
        exp = want[sid].get("A1", "")
        nv, why = nmap_verdict(nm.get(addr_of.get(sid, ""), {}), relay.get(sid, []))
        kv = kensa.get(sid, "")
        n += 1
        k_ok += kv == exp
        n_ok += nv == exp
        if nv != kv or kv != exp:
            disagree.append("%-10s %-12s truth %-7s kensa %-7s nmap %-7s [%s] nmap said: %s" % (
                sid, addr_of.get(sid, ""), exp, kv or "-", nv, behaviour.get(sid, "?"), why))
    print("A1 (open relay) against the truth: kensa %d/%d, nmap smtp-open-relay %d/%d" % (k_ok, n, n_ok, n))
    if disagree:
        print("where nmap, kensa or the truth differ (%d servers; for information):" % len(disagree))
        for d in disagree:
            print("  " + d)


def main(argv):
    cmds = {
        "timev": (cmd_timev, 1),
        "slowest": (cmd_slowest, 2),
        "compositions": (cmd_compositions, 1),
        "row": (cmd_row, 3),
        "hosts": (cmd_hosts, 2),
        "truth": (cmd_truth, 3),
        "nmap-a1": (cmd_nmap_a1, 4),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[argv[1]][0](*argv[2:]) or 0)


if __name__ == "__main__":
    main(sys.argv)
