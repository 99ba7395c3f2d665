"""Keeping a diagnosis with its ticket (table diagnosis_results, migration 0011).

The caller holds the transaction (the one that files the ticket, typically) and the store is
open; these functions only read and write rows. Customers get `load(..., customer=True)`: no
private rows, and no facts or fixes, which are for agents.
"""

import json
import uuid
from datetime import datetime

from tix.diagnosis.model import Result

CUSTOMER_KEYS = ("run_id", "at", "check_id", "target", "status", "text_en", "text_es")


def save(ticket_id: int, results: list[Result], at: datetime) -> str:
    """Store one diagnosis' results for a ticket; returns the run's id."""
    from tix.models import DiagnosisResult

    run_id = uuid.uuid4().hex
    rows = [
        {
            "ticket": ticket_id,
            "run_id": run_id,
            "at": at,
            "check_id": r.check_id[:200],
            "target": r.target[:500],
            "status": r.status,
            "facts": json.dumps(r.facts, ensure_ascii=False, default=str, sort_keys=True),
            "text_en": r.text_en,
            "text_es": r.text_es,
            "private": bool(r.private),
            "fix": json.dumps(r.fix.to_dict(), ensure_ascii=False) if r.fix else None,
        }
        for r in results
    ]
    for start in range(0, len(rows), 200):
        # No RETURNING: on PostgreSQL a customer may add private rows it may not read back.
        DiagnosisResult.insert_many(rows[start : start + 200]).as_rowcount().execute()
    return run_id


def load(ticket_id: int, *, customer: bool = False) -> list[dict]:
    """Every stored result of a ticket, oldest run first, as dicts (Result.to_dict() keys plus
    run_id and at). customer=True: without private rows, facts and fixes."""
    from tix.models import DiagnosisResult

    query = DiagnosisResult.select().where(DiagnosisResult.ticket == ticket_id)
    if customer:
        query = query.where(DiagnosisResult.private == False)
    found = []
    for row in query.order_by(DiagnosisResult.at, DiagnosisResult.id):
        item = {
            "run_id": row.run_id,
            "at": row.at,
            "check_id": row.check_id,
            "target": row.target,
            "status": row.status,
            "facts": json.loads(row.facts or "{}"),
            "text_en": row.text_en,
            "text_es": row.text_es,
            "private": bool(row.private),
            "fix": json.loads(row.fix) if row.fix else None,
        }
        found.append({k: item[k] for k in CUSTOMER_KEYS} if customer else item)
    return found
