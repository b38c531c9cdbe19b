package test

import (
	"net/http"
	"testing"
	"time"
)

// Proof 1: three replicas on one Postgres database share 5,000 signed
// deliveries for 2,000 runs, with redeliveries and replays, sent to all of
// them: every run is judged exactly once, every denied run cancelled once,
// no report written twice, and each replica did part of the work.
func TestReplicasJudgeEachRunOnce(t *testing.T) {
	c := newCluster(t, clusterOptions{replicas: 3})
	runs := makeRuns(c.gh, "shared", 100000, 2000)
	ds := deliveriesFor(t, runs, "shared", 5000, 1)
	results, took := c.blast(ds, 32, 0, nil)
	acked := map[string]bool{}
	var acks []time.Duration
	for i, r := range results {
		if r.code != http.StatusAccepted {
			t.Errorf("delivery %s: status %d, want 202", ds[i].ID, r.code)
			continue
		}
		acked[ds[i].ID] = true
		acks = append(acks, r.took)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("3 replicas acknowledged %d deliveries (%d distinct) in %s: %.0f/s, ack p50 %s p99 %s",
		len(acks), len(acked), took.Round(time.Millisecond), float64(len(acks))/took.Seconds(),
		percentile(acks, .5).Round(time.Microsecond), percentile(acks, .99).Round(time.Microsecond))
	start := time.Now()
	c.settle(acked, len(runs), 150*time.Second)
	t.Logf("all %d runs judged %s after the last delivery", len(runs), time.Since(start).Round(time.Millisecond))
	per := c.checkExactlyOnce(runs, acked, true)
	t.Logf("decisions per replica: %v", per)
	if len(per) != len(c.reps) {
		t.Errorf("decisions came from %d replicas, want all %d: %v", len(per), len(c.reps), per)
	}
}

// Proof 2: the same while the replica that leads (it runs the periodic
// redelivery sweep and the queue's maintenance) is killed with SIGKILL
// mid-load and started again: the others take over its running jobs after
// rescue_after, another is elected leader, the deliveries it dropped are
// redelivered, and the result is the same.
func TestReplicaKilledMidLoad(t *testing.T) {
	c := newCluster(t, clusterOptions{replicas: 3})
	// Slow GitHub answers keep jobs running when the kill comes.
	c.gh.Fake.SetLatency(30 * time.Millisecond)
	runs := makeRuns(c.gh, "killed", 200000, 2000)
	ds := deliveriesFor(t, runs, "killed", 5000, 2)

	leader := c.leader()
	var killedAt time.Time
	var victim *replica
	restarted := make(chan struct{})
	results, took := c.blast(ds, 32, 0, func(i int) {
		if i != len(ds)/3 {
			return
		}
		victim = leader
		killedAt = c.kill(victim)
		t.Logf("killed %s (the leader) with SIGKILL after %d deliveries", victim.name, i)
		go func() {
			time.Sleep(time.Second)
			c.start(victim)
			t.Logf("%s started again %s after the kill", victim.name, time.Since(killedAt).Round(time.Millisecond))
			close(restarted)
		}()
	})
	<-restarted
	acked, failed := c.outcomes(ds, results)
	t.Logf("sent %d deliveries in %s: %d acknowledged, %d failed at the kill (GitHub records them, the sweep redelivers them)",
		len(ds), took.Round(time.Millisecond), len(results)-len(failed), len(failed))
	// Every delivery ends up stored and processed: the acknowledged ones
	// because they were saved with their job, the failed ones because the
	// sweep of the new leader asks GitHub for them again.
	c.settle(union(acked, failed), len(runs), 150*time.Second)
	c.checkExactlyOnce(runs, acked, true)
	t.Logf("GitHub was asked for %d redeliveries", c.redeliveryRequests())

	// The killed replica's jobs: handed back after rescue_after and
	// worked by another replica.
	rows, err := c.db.Query(t.Context(), `SELECT attempted_at FROM river_job
		WHERE kind = 'runpolicy_delivery' AND errors::text LIKE '%rescued%'`)
	if err != nil {
		t.Fatal(err)
	}
	var pickups []time.Duration
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		pickups = append(pickups, at.Sub(killedAt))
	}
	rows.Close()
	if len(pickups) == 0 {
		t.Fatal("no job was rescued: the killed replica had none running?")
	}
	t.Logf("%d jobs the killed replica held were picked up again %s to %s after the SIGKILL (rescue_after %s)",
		len(pickups), percentile(pickups, 0).Round(time.Millisecond), percentile(pickups, 1).Round(time.Millisecond), c.cfg["rescue_after"])
	// A generous bound, robust on a loaded machine: well before the
	// queue's own 30-second rescue round would have found them.
	if late := percentile(pickups, 1); late > 15*time.Second {
		t.Errorf("the killed replica's jobs were picked up %s after the kill; the rescuer should take about rescue_after (3s)", late)
	}
	if newLeader := c.leader(); newLeader == nil {
		t.Error("no leader after the kill")
	} else {
		t.Logf("leader after the kill: %s", newLeader.name)
	}
}
