"""The OpenAPI 3.1 description of every endpoint, served at ``/openapi.json``.

Written by hand next to the routes (Starlette has no schema generator); the
test suite runs schemathesis against the live service with it, so a route
that answers something this file does not describe fails the build.
"""

from __future__ import annotations

from typing import Any

POST_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
COMMENT_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}\\.[1-9][0-9]{0,17}$"}
# Something visible: not only white space or control characters.
VISIBLE = "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
USER_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:@|-]{1,128}$"}
SEQ_CURSOR = {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}
TIME_CURSOR = {"type": "string", "pattern": "^[0-9]{1,18}:.*$"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _answer(description: str, schema: dict | None = None, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer |= _json(schema)
    if headers:
        answer["headers"] = headers
    return answer


_RETRY = {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}
_ERRORS = {
    "400": "invalid input", "401": "missing, invalid or expired token",
    "403": "not allowed, banned or muted", "404": "no such thing", "409": "conflict",
    "413": "body over 16 KiB", "415": "body is not JSON", "429": "rate limited",
    "503": "nothing could be saved; retry",
}


def _errors(*codes: str) -> dict:
    return {
        code: _answer(_ERRORS[code], _ref("Error"), _RETRY if code in ("429", "503") else None)
        for code in codes
    }


def _body(schema: dict) -> dict:
    return {"required": True} | _json(schema)


def _path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _page_params(cursor: dict) -> list[dict]:
    return [{"name": "cursor", "in": "query", "required": False, "schema": cursor},
            {"name": "pagesize", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 100}}]


BEARER = [{"bearer": []}]
REASON = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"}
TEXT = {"type": "string"}
STRING_OR_NULL = {"type": ["string", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}


def _object(required: dict[str, dict], optional: dict[str, dict] | None = None) -> dict:
    return {"type": "object", "required": list(required),
            "properties": required | (optional or {})}


SCHEMAS = {
    "Error": _object({"status": {"type": "integer"}, "error": TEXT, "message": TEXT}),
    "Credentials": _object({
        "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,32}$"},
        "password": {"type": "string", "minLength": 8, "maxLength": 128}}),
    "Login": _object({"username": TEXT, "password": TEXT}),
    "User": _object({"userId": TEXT, "username": TEXT, "role": {"enum": ["user", "admin"]}}),
    "Token": _object({"token": TEXT, "expiresAt": {"type": "integer"}, "userId": TEXT,
                      "role": {"enum": ["user", "admin"]}}),
    "NewComment": _object({"comment": {"type": "string", "minLength": 1, "maxLength": 2000,
                                       "pattern": VISIBLE}}),
    "Posted": _object({"status": {"const": 201}, "postId": TEXT, "commentId": TEXT,
                       "seq": {"type": "integer"}, "userId": TEXT,
                       "timestamp": {"type": "integer"}, "held": {"type": "boolean"}}),
    "Comment": _object({"commentId": TEXT, "postId": TEXT, "userId": TEXT, "username": TEXT,
                        "comment": TEXT, "timestamp": {"type": "integer"},
                        "seq": {"type": "integer"}, "editedAt": INT_OR_NULL}),
    "CommentPage": _object({"status": {"const": "success"},
                            "comments": {"type": "array", "items": _ref("Comment")},
                            "nextCursor": STRING_OR_NULL}),
    "Report": _object({"reason": REASON}),
    "Ban": _object({"reason": REASON},
                   {"durationSeconds": {"type": "integer", "minimum": 1, "maximum": 315_360_000},
                    "removeRecentComments": {"type": "boolean"}}),
    "QueueItem": _object({
        "kind": {"enum": ["comment", "user"]}, "userId": TEXT, "username": TEXT,
        "reports": {"type": "integer"}, "flags": {"type": "integer"}, "lastReason": TEXT,
        "lastAt": {"type": "integer"}, "postId": STRING_OR_NULL, "commentId": STRING_OR_NULL,
        "comment": STRING_OR_NULL}),
    "ReportPage": _object({"status": {"const": "success"},
                           "reports": {"type": "array", "items": _ref("QueueItem")},
                           "nextCursor": STRING_OR_NULL}),
    "Action": _object({"actionId": TEXT, "at": {"type": "integer"}, "actorId": TEXT,
                       "action": TEXT, "target": TEXT, "detail": {"type": "object"}}),
    "ActionPage": _object({"status": {"const": "success"},
                           "actions": {"type": "array", "items": _ref("Action")},
                           "nextCursor": STRING_OR_NULL}),
}

_COMMENT = [_path("commentId", COMMENT_ID)]
_USER = [_path("userId", USER_ID)]
_POST = [_path("postId", POST_ID)]

PATHS = {
    "/api/auth/register": {"post": {
        "summary": "Create a user", "requestBody": _body(_ref("Credentials")),
        "responses": {"201": _answer("created", _ref("User"))}
        | _errors("400", "409", "413", "415", "429")}},
    "/api/auth/login": {"post": {
        "summary": "Get a token", "requestBody": _body(_ref("Login")),
        "responses": {"200": _answer("a token", _ref("Token"))}
        | _errors("400", "401", "413", "415", "429")}},
    "/api/posts/{postId}/comments": {
        "parameters": _POST,
        "post": {"summary": "Post a comment (durable before 201)", "security": BEARER,
                 "requestBody": _body(_ref("NewComment")),
                 "responses": {"201": _answer("stored", _ref("Posted"))}
                 | _errors("400", "401", "403", "413", "415", "429", "503")},
        "get": {"summary": "Comments, newest first", "parameters": _page_params(SEQ_CURSOR),
                "responses": {"200": _answer("a page", _ref("CommentPage"))}
                | _errors("400", "503")}},
    "/api/posts/{postId}/comments/stream": {"get": {
        "summary": "Live comments (Server-Sent Events)", "parameters": [
            *_POST,
            {"name": "lastEventId", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0}},
            {"name": "backlog", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "maximum": 100}},
            {"name": "Last-Event-ID", "in": "header", "required": False,
             "schema": {"type": "string", "pattern": "^[0-9]+$"}}],
        "responses": {"200": {"description": "comment, comment_edited, comment_deleted,"
                              " comment_hidden, viewers and resync events",
                              "content": {"text/event-stream": {"schema": TEXT}}}}
        | _errors("400", "429", "503")}},
    "/api/comments/{commentId}": {
        "parameters": _COMMENT,
        "patch": {"summary": "Edit (author or admin)", "security": BEARER,
                  "requestBody": _body(_ref("NewComment")),
                  "responses": {"200": _answer("edited", _ref("Comment"))}
                  | _errors("400", "401", "403", "404", "413", "415", "503")},
        "delete": {"summary": "Delete (author or admin)", "security": BEARER,
                   "responses": {"200": _answer("deleted", _object({"status": TEXT}))}
                   | _errors("400", "401", "403", "404", "503")}},
    "/api/comments/{commentId}/report": {"post": {
        "summary": "Report a comment", "security": BEARER, "parameters": _COMMENT,
        "requestBody": _body(_ref("Report")),
        "responses": {"202": _answer("queued for admins", _object(
            {"status": {"const": 202}, "commentId": TEXT}))}
        | _errors("400", "401", "403", "404", "409", "413", "415", "503")}},
    "/api/admin/reports": {"get": {
        "summary": "Reported comments and users with counts, newest first",
        "security": BEARER, "parameters": _page_params(TIME_CURSOR),
        "responses": {"200": _answer("a page", _ref("ReportPage"))}
        | _errors("400", "401", "403", "503")}},
    "/api/admin/actions": {"get": {
        "summary": "The moderation audit trail, newest first", "security": BEARER,
        "parameters": _page_params(TIME_CURSOR),
        "responses": {"200": _answer("a page", _ref("ActionPage"))}
        | _errors("400", "401", "403")}},
    "/api/admin/rooms": {"get": {
        "summary": "Room hosts: actor name, node, rooms with viewers and rate",
        "security": BEARER,
        "responses": {"200": _answer("every host", _object({
            "status": {"const": "success"},
            "hosts": {"type": "array", "items": {"type": "object",
                                                  "required": ["name", "node", "available"]}}}))}
        | _errors("401", "403", "503")}},
    "/api/admin/users/{userId}/ban": {
        "parameters": _USER,
        "post": {"summary": "Ban a user (optionally for a time)", "security": BEARER,
                 "requestBody": _body(_ref("Ban")),
                 "responses": {"200": _answer("banned", _object({
                     "status": TEXT, "userId": TEXT, "until": INT_OR_NULL, "reason": TEXT,
                     "removedComments": {"type": "integer"}}))}
                 | _errors("400", "401", "403", "404", "413", "415", "503")},
        "delete": {"summary": "Lift a ban or mute", "security": BEARER,
                   "responses": {"200": _answer("lifted", _object(
                       {"status": TEXT, "userId": TEXT}))}
                   | _errors("400", "401", "403", "404")}},
    "/healthz": {"get": {"summary": "The process is up",
                         "responses": {"200": _answer("up", _object({"status": TEXT},
                                                                   {"node": TEXT}))}}},
    "/readyz": {"get": {"summary": "Store and rooms answer",
                        "responses": {"200": _answer("ready", {"type": "object"})}
                        | {"503": _answer("not ready", _ref("Error"))}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
        "description": "text exposition format", "content": {"text/plain": {"schema": TEXT}}}}}},
    "/": {"get": {"summary": "The web page", "responses": {"200": {
        "description": "HTML", "content": {"text/html": {"schema": TEXT}}}}}},
}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "livecomments", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }
