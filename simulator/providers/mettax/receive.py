"""How a receiver reads MettaX pushes (the reference receiver's adapter), and the one reading of the `data`
string that `fleetsim schemas validate mettax envelope` shares with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

import orjson

from ... import strictjson
from ...validation import validate
from ..receiving import (
    FORM_TYPE,
    JSON_TYPE,
    MAX_ID_CHARS,
    Adapter,
    Change,
    Checked,
    Fix,
    Rejected,
    UnreadableData,
    id_text,
    parse_json,
    require_object,
    sha256_of,
)
from .provider import classify as classify_mettax

if TYPE_CHECKING:
    from ..base import Provider


def open_mettax_data(data: str) -> dict[str, Any]:
    """The JSON object a MettaX `data` string holds, parsed strictly, or UnreadableData."""
    try:
        document = strictjson.loads(data.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: only possible when a caller built the string itself
        raise UnreadableData("malformed_json", "text that is not UTF-8 (a lone surrogate)") from None
    except strictjson.JsonRejected as exc:
        raise UnreadableData(exc.reason, f"invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UnreadableData("wrong_type", strictjson.type_name(document))
    return document


def read_mettax_data(provider: Provider, data: str) -> Checked:
    """The message a MettaX envelope's `data` string carries, read and checked the one way fleetsim does it:
    strict JSON, recognised by its fields, against that kind's schema. The reference receiver and
    `schemas validate mettax envelope` both call this, so they cannot reach different verdicts on it."""
    document = open_mettax_data(data)
    kind = classify_mettax(document)
    return Checked(document, kind, validate(provider, kind, document) if kind is not None else [])


class MettaxAdapter(Adapter):
    """MettaX IotHub pushes: `{"data": "<message as a JSON string>"}` or the form field `data=`.

    There is no kind field (provider-facts §5), so a message is classified by the field only its kind has
    (simulator.providers.mettax.classify, which `schemas validate mettax envelope` uses too).
    Key: kind + `id` (`captureId` for capture files): a GPS packet, its alarm and its status share one `id`,
    and so do the two halves of a driver face check, yet each is its own message; files add their URL.
    Position: `deviceCt` (UTC; `reportCt` is device-local time), per `deviceId`; back-filled `actual=false`
    fixes never win (ORD-02).
    """

    name = "mettax"
    content_types = (JSON_TYPE, FORM_TYPE)
    POSITIONED: ClassVar[frozenset[str]] = frozenset({"gps", "alarm", "rfid", "face_check_result"})
    FILES: ClassVar[frozenset[str]] = frozenset({"alarm_file", "capture_file"})
    FACE_HALVES: ClassVar[dict[str, str]] = {"face_check_result": "result", "face_check_picture": "picture"}

    def decode(self, body: bytes, content_type: str) -> dict[str, Any]:
        try:
            return open_mettax_data(self._data(body, content_type))
        except UnreadableData as exc:
            raise _unreadable(exc) from None

    def inspect(self, provider: Provider, body: bytes, content_type: str) -> Checked:
        # the same function `schemas validate mettax envelope` calls: one reading, one verdict
        try:
            return read_mettax_data(provider, self._data(body, content_type))
        except UnreadableData as exc:
            raise _unreadable(exc) from None

    def _data(self, body: bytes, content_type: str) -> str:
        """The `data` string, from a JSON or a form body."""
        if content_type == FORM_TYPE:
            return self._form_data(body)
        outer = require_object(parse_json(body), "body").get("data")
        if not isinstance(outer, str):
            raise Rejected(400, "bad_envelope", 'the body must be {"data": "<message as a JSON string>"}')
        return outer

    @staticmethod
    def _form_data(body: bytes) -> str:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict",
                              max_num_fields=16)
        except ValueError:  # UnicodeDecodeError included
            raise Rejected(400, "bad_form", "the form body is not valid UTF-8 url-encoded fields") from None
        values = [value for key, value in pairs if key == "data"]
        if len(values) != 1:
            raise Rejected(400, "bad_envelope", "the form body must carry exactly one data= field")
        return values[0]

    def classify(self, doc: dict[str, Any]) -> str | None:
        return classify_mettax(doc)

    def event_key(self, doc: dict[str, Any], kind: str | None) -> str:
        if kind is None:  # not a kind we know: use its id if it has one, else what it says
            ident = doc.get("id")
            return f"unknown:{ident}" if isinstance(ident, str) and len(ident) <= MAX_ID_CHARS \
                else "unknown:" + sha256_of(doc)
        name = "captureId" if kind == "capture_file" else "id"
        key = f"{kind}:{id_text(doc.get(name), name)}"
        if kind in self.FILES:  # one alarm uploads a picture and a video under one id: the file tells them apart
            key += ":" + sha256_of(doc.get("fileType"), doc.get("fileUrl"))[:32]
        return key

    #: what a message of any kind carries: who sent it, its id and its times; nothing that tells a kind apart
    COMMON_FIELDS = ("id", "deviceId", "deviceCt", "reportCt")

    def with_unknown_kind(self, doc: dict[str, Any]) -> dict[str, Any]:
        # no kind field (provider-facts §5: kinds are told apart by their fields): a message of a kind to come has
        # the fields every kind has and a reading of its own. Only the marker fields taken out of a known kind
        # was still that kind to a receiver recognising it by others (`course`, `acc`), missing required ones
        kept = {k: doc[k] for k in self.COMMON_FIELDS if k in doc}
        return {**kept, "fleetsimFutureReading": 1}

    def fix(self, doc: dict[str, Any], kind: str) -> Fix | None:
        if kind not in self.POSITIONED or "lat" not in doc or "lon" not in doc:
            return None
        # rfid and face-check results write lat/lon as strings ("35.926264")
        return Fix(doc["deviceId"], float(doc["lat"]), float(doc["lon"]), float(doc["deviceCt"]))

    def face_check(self, doc: dict[str, Any], kind: str) -> tuple[str, str, str, str] | None:
        half = self.FACE_HALVES.get(kind)
        return (doc["id"], doc["deviceId"], half, orjson.dumps(doc).decode()) if half else None

    def change(self, doc: dict[str, Any], kind: str) -> Change | None:
        # ignition: the accOn/accOff alarms, and device_info's `acc` (1 on, 0 off), at `deviceCt`
        acc = doc.get("acc") if kind == "device_info" else None
        alarm = {"accOn": 1, "accOff": 0}.get(doc.get("alarmType", "")) if kind == "alarm" else None
        value = acc if acc in (0, 1) else alarm
        if value is None or "deviceCt" not in doc:
            return None
        return Change(str(doc["deviceId"]), "ignition", "on" if value else "off", float(doc["deviceCt"]))



def _unreadable(exc: UnreadableData) -> Rejected:
    if exc.reason == "wrong_type":
        return Rejected(400, exc.reason, f"the data string must hold a JSON object, not {exc.problem}")
    return Rejected(400, exc.reason, f"the data string does not hold a JSON object: {exc.problem}")


ADAPTER = MettaxAdapter
