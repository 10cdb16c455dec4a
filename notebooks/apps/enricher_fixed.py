"""Enrich orders exactly once: read ORDERS, write ENRICHED, one Kafka transaction per batch.

A consume-transform-produce service written for confluent-kafka (librdkafka). It reads
until every assigned partition reports its end (enable.partition.eof), then exits.

    python enricher.py -b localhost:9092 -i orders -o enriched
"""

import argparse
import json

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)


def enrich(msg):
    """The business logic: an order id in, an enriched order out (JSON)."""
    return json.dumps({"order": msg.value().decode(), "status": "enriched"})


def main(args):
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,  # offsets go into the transaction
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
    })
    producer = new_producer(args)
    consumer.subscribe([args.input])
    at_end = set()
    while True:
        msgs = consumer.consume(num_messages=10, timeout=1.0)
        records = []
        for m in msgs:
            if m.error() is None:
                records.append(m)
                at_end.discard((m.topic(), m.partition()))
            elif m.error().code() == KafkaError._PARTITION_EOF:
                at_end.add((m.topic(), m.partition()))
            else:
                raise KafkaException(m.error())
        if not records:
            if consumer.assignment() and len(at_end) == len(consumer.assignment()):
                break  # every partition read to its end
            continue
        producer.begin_transaction()
        try:
            for m in records:
                producer.produce(args.output, enrich(m), key=m.key())
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()),
                consumer.consumer_group_metadata())
            producer.commit_transaction()
        except KafkaException as e:
            if not e.args[0].txn_requires_abort():
                raise
            producer.abort_transaction()
            rewind(consumer)  # the aborted batch is read again
            del producer  # destroyed now (CPython), before its successor starts
            producer = new_producer(args)  # a new epoch: no sequence number is reused
    consumer.close()


def new_producer(args):
    """A transactional producer; its init_transactions() gets the transactional.id a new
    epoch, so the broker starts its sequence numbers afresh (librdkafka keeps the epoch
    after an abort and may reuse the sequence of a purged retry)."""
    producer = Producer({
        "bootstrap.servers": args.brokers,
        "transactional.id": args.transactional_id,
    })
    producer.init_transactions()
    return producer


def rewind(consumer):
    """Seek every assigned partition back to its committed offset (abort_transaction()
    does not move the consumer)."""
    for tp in consumer.committed(consumer.assignment()):
        start = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
        consumer.seek(TopicPartition(tp.topic, tp.partition, start))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Enrich orders exactly once")
    parser.add_argument("-b", dest="brokers", required=True)
    parser.add_argument("-i", dest="input", default="orders")
    parser.add_argument("-o", dest="output", default="enriched")
    parser.add_argument("-g", dest="group", default="enricher")
    parser.add_argument("-t", dest="transactional_id", default="enricher-1")
    main(parser.parse_args())
