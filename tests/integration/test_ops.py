from __future__ import annotations

from tests.integration.conftest import new_post_id, post


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["roomHosts"] >= 1


async def test_metrics_count_accepted_and_rejected_comments(client, user):
    await post(client, user, new_post_id(), "counted")
    await client.post(f"/api/posts/{new_post_id()}/comments", json={"comment": " "},
                      headers=user.auth)
    text = (await client.get("/metrics")).text
    assert "livecomments_comments_accepted_total" in text
    assert 'livecomments_comments_rejected_total{reason="invalid_comment"}' in text
    accepted = [line for line in text.splitlines()
                if line.startswith("livecomments_comments_accepted_total")]
    assert float(accepted[0].split()[-1]) >= 1


async def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = await client.put("/api/posts/v1/comments")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
