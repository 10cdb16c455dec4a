/*
 * The course's Java client driver: Apache Kafka's own Java client (org.apache.kafka:kafka-clients,
 * the broker's version) run step by step from JSON.
 *
 * It reads one JSON step per line on stdin and writes one JSON answer per line on stdout, in
 * order: {"id": 3, "op": "produce", "client": "p1", "topic": "t", "value": "m0"} ->
 * {"id": 3, "ok": true, ...} or {"id": 3, "ok": false, "error": {...}}. One process holds any
 * number of producers, consumers and one admin client, so an experiment starts one JVM.
 * Steps: hello, producer, consumer, produce, flush, init_transactions, begin_transaction,
 * commit_transaction, abort_transaction, send_offsets, subscribe, assign, poll, position, seek,
 * committed, commit, assignment, group_metadata, rebalances, close, client_state, crash (the process exits
 * at once, no close: Runtime.halt), sleep, exit; admin: create_topics, delete_topics,
 * delete_groups, describe_transactions, describe_producers, topic_ids, features, update_feature.
 *
 * Every blocking call is bounded: by the step's timeout_ms, or by the client's own max.block.ms /
 * delivery.timeout.ms / default.api.timeout.ms (set explicitly by the Python side). The Python
 * side (eoslib/real/java_driver.py) also bounds every answer and, when one does not come, kills
 * this process and shows the last lines of its log.
 *
 * Compiled once with javac into the cache (eoslib.real.java_driver.build), run with
 * java -cp <cache>:<kafka-clients and its jars> Driver.
 */

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersResult;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.FinalizedVersionRange;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class Driver {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, KafkaProducer<String, String>> producers = new HashMap<>();
    private final Map<String, KafkaConsumer<String, String>> consumers = new HashMap<>();
    /** Delivery reports of each producer not yet handed to Python (filled by send callbacks). */
    private final Map<String, List<Map<String, Object>>> deliveries = new HashMap<>();
    /** Each subscribed consumer's rebalance events not yet handed to Python. */
    private final Map<String, List<Map<String, Object>>> rebalances = new HashMap<>();
    private final PrintStream out;
    private Admin admin;
    private String bootstrap;

    private Driver(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        // stdout carries the JSON answers only; anything else a library prints goes to stderr
        PrintStream answers = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        Driver d = new Driver(answers);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            d.handle(line);
        }
        d.closeAll(Duration.ZERO);
        answers.flush();
        System.exit(0);
    }

    @SuppressWarnings("unchecked")
    private void handle(String line) throws Exception {
        Map<String, Object> step;
        try {
            step = JSON.readValue(line, Map.class);
        } catch (Exception e) {
            answer(Map.of("id", -1, "ok", false, "error", error(e, null)));
            return;
        }
        Object id = step.getOrDefault("id", -1);
        String op = String.valueOf(step.get("op"));
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("id", id);
        long t = System.nanoTime();
        try {
            Map<String, Object> result = run(op, step);
            reply.put("ok", true);
            if (result != null) reply.putAll(result);
        } catch (Exception e) {
            reply.put("ok", false);
            reply.put("error", error(e, (String) step.get("client")));
        }
        reply.put("ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t));
        answer(reply);
    }

    private void answer(Map<String, Object> reply) throws Exception {
        out.println(JSON.writeValueAsString(reply));
        out.flush();
    }

    private Map<String, Object> run(String op, Map<String, Object> s) throws Exception {
        switch (op) {
            case "hello": {
                bootstrap = str(s, "bootstrap");
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("kafka_clients", AppInfoParser.getVersion());
                r.put("java", System.getProperty("java.version"));
                return r;
            }
            // ------------------------------------------------------------ producers
            case "producer": {
                String name = str(s, "name");
                KafkaProducer<String, String> p = new KafkaProducer<>(props(s), new StringSerializer(),
                        new StringSerializer());
                producers.put(name, p);
                deliveries.put(name, new ArrayList<>());
                return null;
            }
            case "produce": {
                String name = str(s, "client");
                KafkaProducer<String, String> p = producer(name);
                Object part = s.get("partition");
                String topic = str(s, "topic");
                String key = (String) s.get("key");
                String value = (String) s.get("value");
                ProducerRecord<String, String> rec = new ProducerRecord<>(topic,
                        part == null ? null : ((Number) part).intValue(), key, value);
                List<Map<String, Object>> reports = deliveries.get(name);
                Object tag = s.get("tag");
                long sentNanos = System.nanoTime();
                p.send(rec, (md, ex) -> {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("tag", tag);
                    // ms from send() to this report (the batch's delivery.timeout.ms counts from
                    // its creation, inside send())
                    d.put("elapsed_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos));
                    d.put("topic", topic);
                    d.put("partition", md != null ? md.partition() : -1);
                    d.put("offset", md != null && md.hasOffset() ? md.offset() : -1);
                    d.put("key", key);
                    d.put("value", value);
                    d.put("error", ex == null ? null : error(ex, name));
                    synchronized (reports) {
                        reports.add(d);
                    }
                });
                return null;
            }
            case "flush": {
                String name = str(s, "client");
                producer(name).flush();  // bounded by the producer's delivery.timeout.ms
                return Map.of("deliveries", takeDeliveries(name));
            }
            case "deliveries":
                return Map.of("deliveries", takeDeliveries(str(s, "client")));
            case "init_transactions":
                producer(str(s, "client")).initTransactions();  // bounded by max.block.ms
                return clientState(str(s, "client"));
            case "begin_transaction":
                producer(str(s, "client")).beginTransaction();
                return null;
            case "commit_transaction": {
                String name = str(s, "client");
                producer(name).commitTransaction();  // bounded by max.block.ms
                Map<String, Object> r = new LinkedHashMap<>(clientState(name));
                r.put("deliveries", takeDeliveries(name));
                return r;
            }
            case "abort_transaction": {
                String name = str(s, "client");
                producer(name).abortTransaction();
                Map<String, Object> r = new LinkedHashMap<>(clientState(name));
                r.put("deliveries", takeDeliveries(name));
                return r;
            }
            case "send_offsets": {
                KafkaConsumer<String, String> c = consumer(str(s, "consumer"));
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                if (s.get("offsets") != null) {
                    for (List<Object> o : tpList(s.get("offsets"))) {
                        offsets.put(tp(o), new OffsetAndMetadata(((Number) o.get(2)).longValue()));
                    }
                } else {
                    for (TopicPartition tp : c.assignment()) {
                        offsets.put(tp, new OffsetAndMetadata(c.position(tp, timeout(s))));
                    }
                }
                ConsumerGroupMetadata md = c.groupMetadata();
                producer(str(s, "client")).sendOffsetsToTransaction(offsets, md);
                return null;
            }
            case "client_state":
                return clientState(str(s, "client"));
            // ------------------------------------------------------------ consumers
            case "consumer": {
                KafkaConsumer<String, String> c = new KafkaConsumer<>(props(s), new StringDeserializer(),
                        new StringDeserializer());
                consumers.put(str(s, "name"), c);
                return null;
            }
            case "subscribe": {
                // a listener that notes each assignment and revocation, and at revocation the
                // group's committed offsets of the revoked partitions (read inside the callback,
                // i.e. after an auto-committing consumer's commit before revocation)
                String name = str(s, "client");
                KafkaConsumer<String, String> c = consumer(name);
                List<Map<String, Object>> events = rebalances.computeIfAbsent(name, k -> new ArrayList<>());
                c.subscribe(strings(s.get("topics")), new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> parts) {
                        events.add(rebalanceEvent("revoked", c, parts));
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> parts) {
                        events.add(rebalanceEvent("assigned", null, parts));
                    }
                });
                return null;
            }
            case "rebalances": {
                List<Map<String, Object>> events = rebalances.getOrDefault(str(s, "client"), new ArrayList<>());
                List<Map<String, Object>> copy = new ArrayList<>(events);
                events.clear();
                return Map.of("events", copy);
            }
            case "assign": {
                KafkaConsumer<String, String> c = consumer(str(s, "client"));
                List<TopicPartition> tps = new ArrayList<>();
                for (List<Object> o : tpList(s.get("partitions"))) tps.add(tp(o));
                c.assign(tps);
                for (List<Object> o : tpList(s.get("partitions"))) {
                    if (o.size() > 2 && o.get(2) != null && ((Number) o.get(2)).longValue() >= 0) {
                        c.seek(tp(o), ((Number) o.get(2)).longValue());
                    }
                }
                return null;
            }
            case "poll": {
                ConsumerRecords<String, String> recs = consumer(str(s, "client")).poll(timeout(s));
                List<List<Object>> rows = new ArrayList<>();
                for (ConsumerRecord<String, String> r : recs) {
                    List<Object> row = new ArrayList<>();
                    row.add(r.topic());
                    row.add(r.partition());
                    row.add(r.offset());
                    row.add(r.key());
                    row.add(r.value());
                    rows.add(row);
                }
                return Map.of("records", rows);
            }
            case "position": {
                KafkaConsumer<String, String> c = consumer(str(s, "client"));
                Collection<TopicPartition> tps = s.get("partitions") == null ? c.assignment() : tps(s.get("partitions"));
                List<List<Object>> rows = new ArrayList<>();
                for (TopicPartition tp : tps) rows.add(List.of(tp.topic(), tp.partition(), c.position(tp, timeout(s))));
                return Map.of("positions", rows);
            }
            case "seek":
                consumer(str(s, "client")).seek(new TopicPartition(str(s, "topic"), num(s, "partition")),
                        ((Number) s.get("offset")).longValue());
                return null;
            case "committed": {
                KafkaConsumer<String, String> c = consumer(str(s, "client"));
                Set<TopicPartition> tps = new java.util.LinkedHashSet<>(tps(s.get("partitions")));
                Map<TopicPartition, OffsetAndMetadata> got = c.committed(tps, timeout(s));
                List<List<Object>> rows = new ArrayList<>();
                for (TopicPartition tp : tps) {
                    OffsetAndMetadata om = got.get(tp);
                    List<Object> row = new ArrayList<>();
                    row.add(tp.topic());
                    row.add(tp.partition());
                    row.add(om == null ? null : om.offset());
                    rows.add(row);
                }
                return Map.of("committed", rows);
            }
            case "commit": {
                KafkaConsumer<String, String> c = consumer(str(s, "client"));
                if (s.get("offsets") == null) {
                    c.commitSync(timeout(s));
                } else {
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (List<Object> o : tpList(s.get("offsets"))) {
                        offsets.put(tp(o), new OffsetAndMetadata(((Number) o.get(2)).longValue()));
                    }
                    c.commitSync(offsets, timeout(s));
                }
                return null;
            }
            case "assignment": {
                List<List<Object>> rows = new ArrayList<>();
                for (TopicPartition tp : consumer(str(s, "client")).assignment()) rows.add(List.of(tp.topic(), tp.partition()));
                return Map.of("partitions", rows);
            }
            case "group_metadata": {
                ConsumerGroupMetadata md = consumer(str(s, "client")).groupMetadata();
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("group_id", md.groupId());
                r.put("generation_id", md.generationId());
                r.put("member_id", md.memberId());
                return r;
            }
            // ------------------------------------------------------------ both
            case "close": {
                String name = str(s, "client");
                Duration d = timeout(s);
                if (producers.containsKey(name)) {
                    producers.remove(name).close(d);
                } else {
                    consumer(name);
                    consumers.remove(name).close(d);
                }
                return null;
            }
            case "crash": {
                // The application process dies here: no close, no flush, no commit, no abort.
                out.flush();
                Runtime.getRuntime().halt(s.get("code") == null ? 3 : num(s, "code"));
                return null;
            }
            case "sleep":
                Thread.sleep(((Number) s.get("ms")).longValue());
                return null;
            case "exit":
                closeAll(Duration.ofSeconds(5));
                answer(Map.of("id", s.getOrDefault("id", -1), "ok", true));
                out.flush();
                System.exit(0);
                return null;
            // ------------------------------------------------------------ admin
            case "create_topics": {
                int parts = s.get("partitions") == null ? 1 : num(s, "partitions");
                List<NewTopic> topics = new ArrayList<>();
                for (String n : strings(s.get("topics"))) topics.add(new NewTopic(n, parts, (short) 1));
                admin().createTopics(topics).all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                // Created is not yet served: until each partition's leader has taken over, a
                // produce gets NOT_LEADER_OR_FOLLOWER (an idempotent producer then once stayed in
                // OUT_OF_ORDER_SEQUENCE_NUMBER retries until delivery.timeout.ms). ListOffsets goes
                // to the leader: ask until every leader answers.
                Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                for (NewTopic t : topics) {
                    for (int p = 0; p < parts; p++) latest.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
                }
                long deadline = System.currentTimeMillis() + timeout(s).toMillis();
                while (true) {
                    try {
                        admin().listOffsets(latest).all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                        return null;
                    } catch (java.util.concurrent.ExecutionException e) {
                        // the admin client's metadata may not know the topic yet: ask again
                        if (!(e.getCause() instanceof RetriableException) || System.currentTimeMillis() > deadline) {
                            throw e;
                        }
                        Thread.sleep(50);
                    }
                }
            }
            case "delete_topics":
                admin().deleteTopics(strings(s.get("topics"))).all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                return null;
            case "delete_groups":
                admin().deleteConsumerGroups(strings(s.get("groups"))).all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                return null;
            case "describe_transactions": {
                Map<String, TransactionDescription> got = admin().describeTransactions(strings(s.get("ids")))
                        .all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                Map<String, Object> r = new LinkedHashMap<>();
                for (Map.Entry<String, TransactionDescription> e : got.entrySet()) {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("producer_id", e.getValue().producerId());
                    d.put("epoch", e.getValue().producerEpoch());
                    d.put("state", e.getValue().state().toString());
                    r.put(e.getKey(), d);
                }
                return Map.of("transactions", r);
            }
            case "topic_ids": {
                Map<String, Object> ids = new LinkedHashMap<>();
                for (Map.Entry<String, TopicDescription> e : admin().describeTopics(strings(s.get("topics")))
                        .allTopicNames().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS).entrySet()) {
                    ids.put(e.getKey(), e.getValue().topicId().toString());
                }
                return Map.of("topic_ids", ids);
            }
            case "describe_producers": {
                TopicPartition tp = new TopicPartition(str(s, "topic"), num(s, "partition"));
                DescribeProducersResult res = admin().describeProducers(List.of(tp));
                List<Map<String, Object>> rows = new ArrayList<>();
                for (ProducerState ps : res.partitionResult(tp).get(timeout(s).toMillis(), TimeUnit.MILLISECONDS).activeProducers()) {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("producer_id", ps.producerId());
                    d.put("epoch", ps.producerEpoch());
                    d.put("last_sequence", ps.lastSequence());
                    d.put("txn_start_offset", ps.currentTransactionStartOffset().isPresent()
                            ? ps.currentTransactionStartOffset().getAsLong() : null);
                    rows.add(d);
                }
                return Map.of("producers", rows);
            }
            case "features": {
                FeatureMetadata fm = admin().describeFeatures().featureMetadata()
                        .get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                Map<String, Object> fin = new LinkedHashMap<>();
                for (Map.Entry<String, FinalizedVersionRange> e : fm.finalizedFeatures().entrySet()) {
                    fin.put(e.getKey(), e.getValue().maxVersionLevel());
                }
                return Map.of("finalized", fin, "epoch", fm.finalizedFeaturesEpoch().orElse(-1L));
            }
            case "update_feature": {
                short level = (short) num(s, "level");
                String name = str(s, "name");
                FeatureMetadata fm = admin().describeFeatures().featureMetadata()
                        .get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                FinalizedVersionRange now = fm.finalizedFeatures().get(name);
                short current = now == null ? 0 : now.maxVersionLevel();
                if (current != level) {
                    FeatureUpdate.UpgradeType type = level > current ? FeatureUpdate.UpgradeType.UPGRADE
                            : FeatureUpdate.UpgradeType.SAFE_DOWNGRADE;
                    admin().updateFeatures(Map.of(name, new FeatureUpdate(level, type)), new UpdateFeaturesOptions())
                            .all().get(timeout(s).toMillis(), TimeUnit.MILLISECONDS);
                    // the controller has committed it; wait until the broker serves it (its
                    // ApiVersions answers, which clients read the feature from, use the same cache)
                    long deadline = System.currentTimeMillis() + timeout(s).toMillis();
                    while (true) {
                        FinalizedVersionRange got = admin().describeFeatures().featureMetadata()
                                .get(timeout(s).toMillis(), TimeUnit.MILLISECONDS).finalizedFeatures().get(name);
                        if ((got == null ? 0 : got.maxVersionLevel()) == level) break;
                        if (System.currentTimeMillis() > deadline) {
                            throw new org.apache.kafka.common.errors.TimeoutException(
                                    "the broker does not serve " + name + "=" + level + " yet");
                        }
                        Thread.sleep(50);
                    }
                }
                return Map.of("previous", current);
            }
            default:
                throw new IllegalArgumentException("unknown step op '" + op + "'");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Map<String, Object> rebalanceEvent(String kind, KafkaConsumer<String, String> c,
                                                      Collection<TopicPartition> parts) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("event", kind);
        e.put("at_ms", System.currentTimeMillis());
        List<List<Object>> rows = new ArrayList<>();
        Map<TopicPartition, OffsetAndMetadata> committed = null;
        if (c != null && !parts.isEmpty()) {
            try {
                committed = c.committed(new java.util.HashSet<>(parts), Duration.ofSeconds(10));
            } catch (Exception ex) {
                e.put("committed_error", ex.toString());
            }
        }
        for (TopicPartition tp : parts) {
            List<Object> row = new ArrayList<>();
            row.add(tp.topic());
            row.add(tp.partition());
            OffsetAndMetadata om = committed == null ? null : committed.get(tp);
            row.add(om == null ? null : om.offset());
            rows.add(row);
        }
        e.put("partitions", rows);
        return e;
    }

    private Admin admin() {
        if (admin == null) {
            if (bootstrap == null) throw new IllegalStateException("admin steps need a hello step with bootstrap");
            Properties p = new Properties();
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
            p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
            admin = Admin.create(p);
        }
        return admin;
    }

    private KafkaProducer<String, String> producer(String name) {
        KafkaProducer<String, String> p = producers.get(name);
        if (p == null) throw new IllegalArgumentException("no producer named '" + name + "'");
        return p;
    }

    private KafkaConsumer<String, String> consumer(String name) {
        KafkaConsumer<String, String> c = consumers.get(name);
        if (c == null) throw new IllegalArgumentException("no consumer named '" + name + "'");
        return c;
    }

    private List<Map<String, Object>> takeDeliveries(String name) {
        List<Map<String, Object>> reports = deliveries.get(name);
        if (reports == null) throw new IllegalArgumentException("no producer named '" + name + "'");
        synchronized (reports) {
            List<Map<String, Object>> copy = new ArrayList<>(reports);
            reports.clear();
            return copy;
        }
    }

    /** The producer's transaction manager as the client holds it (read by reflection: the
     * Java client has no public API for its producer id, epoch or error state). */
    private Map<String, Object> clientState(String name) {
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            Object tm = field(producer(name), "transactionManager");
            if (tm == null) return r;
            Object pe = call(tm, "producerIdAndEpoch");
            r.put("producer_id", field(pe, "producerId"));
            r.put("epoch", field(pe, "epoch"));
            r.put("tv2", call(tm, "isTransactionV2Enabled"));
            r.put("fatal", call(tm, "hasFatalError"));
            r.put("abortable", call(tm, "hasAbortableError"));
        } catch (Exception e) {
            r.put("state_error", e.toString());
        }
        return r;
    }

    private static Object field(Object o, String name) throws Exception {
        Class<?> c = o.getClass();
        while (c != null) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                c = c.getSuperclass();
            }
        }
        throw new NoSuchFieldException(name);
    }

    private static Object call(Object o, String name) throws Exception {
        Method m = o.getClass().getDeclaredMethod(name);
        m.setAccessible(true);
        return m.invoke(o);
    }

    private Map<String, Object> error(Throwable e, String client) {
        Throwable cause = e;
        // Admin futures wrap the Kafka exception in an ExecutionException
        if (cause instanceof java.util.concurrent.ExecutionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("class", cause.getClass().getName());
        r.put("message", String.valueOf(cause.getMessage()));
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (root != cause) {
            r.put("cause_class", root.getClass().getName());
            r.put("cause_message", String.valueOf(root.getMessage()));
        }
        Errors err = Errors.forException(root instanceof KafkaException || root instanceof IllegalStateException ? root : cause);
        if (err == Errors.UNKNOWN_SERVER_ERROR) err = Errors.forException(cause);
        r.put("name", err.name());
        r.put("retriable", cause instanceof RetriableException);
        if (client != null && producers.containsKey(client)) {
            Map<String, Object> st = clientState(client);
            r.put("fatal", st.get("fatal"));
            r.put("abortable", st.get("abortable"));
        }
        return r;
    }

    @SuppressWarnings("unchecked")
    private static Properties props(Map<String, Object> s) {
        Properties p = new Properties();
        Map<String, Object> conf = (Map<String, Object>) s.get("conf");
        if (conf != null) {
            for (Map.Entry<String, Object> e : conf.entrySet()) p.put(e.getKey(), String.valueOf(e.getValue()));
        }
        return p;
    }

    private static String str(Map<String, Object> s, String key) {
        Object v = s.get(key);
        if (v == null) throw new IllegalArgumentException("step needs '" + key + "'");
        return v.toString();
    }

    private static int num(Map<String, Object> s, String key) {
        Object v = s.get(key);
        if (!(v instanceof Number)) throw new IllegalArgumentException("step needs a number '" + key + "'");
        return ((Number) v).intValue();
    }

    private static Duration timeout(Map<String, Object> s) {
        Object v = s.get("timeout_ms");
        return Duration.ofMillis(v instanceof Number ? ((Number) v).longValue() : 30000L);
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(Object o) {
        List<String> r = new ArrayList<>();
        for (Object x : (List<Object>) o) r.add(String.valueOf(x));
        return r;
    }

    @SuppressWarnings("unchecked")
    private static List<List<Object>> tpList(Object o) {
        return (List<List<Object>>) o;
    }

    private static TopicPartition tp(List<Object> o) {
        return new TopicPartition(String.valueOf(o.get(0)), ((Number) o.get(1)).intValue());
    }

    private static List<TopicPartition> tps(Object o) {
        List<TopicPartition> r = new ArrayList<>();
        for (List<Object> x : tpList(o)) r.add(tp(x));
        return r;
    }

    private void closeAll(Duration d) {
        for (KafkaProducer<String, String> p : producers.values()) {
            try { p.close(d); } catch (Exception ignored) { }
        }
        for (KafkaConsumer<String, String> c : consumers.values()) {
            try { c.close(d); } catch (Exception ignored) { }
        }
        if (admin != null) {
            try { admin.close(d); } catch (Exception ignored) { }
        }
    }
}
