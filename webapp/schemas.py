"""The API's types, written once: request types that validate (msgspec, in C, while it parses)
and answer types that the views fill in; /openapi.json is generated from both (openapi.py).

A request type's ``codes`` name the error code of each field that is wrong,
``missing`` those of a field left out where that differs; a field's description
is also the error message's words ("'ms' must be <description>").
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, NotRequired, TypedDict

import msgspec

from serving.config import MODES, RUNTIMES

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# A student's name or code on the class wall: letters of any script, digits, spaces and . ' - _,
# 1-24 of them, opening with a letter or digit (static/js/name.js checks the same as one types).
# It ends with "nothing follows" rather than $, which lets a final newline through.
NAME_PATTERN = r"^[^\W_][\w .'-]{0,23}(?![\s\S])"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# The data URL of a picture the server decodes (decode.image_from_data_url, which
# parses more loosely, to say what is wrong): documented for clients and for the
# fuzzer; whether the picture is whole and has ink, no pattern can say.
DATA_URL_PATTERN = r"^data:image/(png|jpeg|webp)(;[-\w]+=[-\w.]+)*;base64,[A-Za-z0-9+/]*={0,2}$"
KINDS = ("python", "io", "tensorflow")
ACTIONS = ("add", "remove")
REQUESTS_PAGE, REQUESTS_MAX = 100, 1000

ClientId = Annotated[
    str,
    msgspec.Meta(
        pattern=CLIENT_ID_PATTERN,
        description="1-64 letters, digits, '-' or '_', grouping one tab's requests",
    ),
]
Name = Annotated[
    str,
    msgspec.Meta(
        pattern=NAME_PATTERN,
        description="1-24 letters, digits, spaces or . ' - _ (opening with a letter or digit): "
        "the name or short code the class wall (GET /class) shows beside the drawing",
    ),
]
Pixel = Annotated[float, msgspec.Meta(ge=0, le=255)]
Row = Annotated[list[Pixel], msgspec.Meta(min_length=28, max_length=28)]
Seconds = Annotated[float, msgspec.Meta(description="server clock, Unix epoch seconds")]
# What a shared store's entries must be to be shown (webapp/store.py checks each one read: a
# hostile entry is skipped and counted, never a 500, never a pid or a name the page cannot show).
HostName = Annotated[
    str,
    msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", description="HOST_NAME of the server"),
]
Pid = Annotated[int, msgspec.Meta(ge=1, le=2**31)]
RequestId = Annotated[str, msgspec.Meta(pattern=REQUEST_ID_PATTERN)]
Count = Annotated[int, msgspec.Meta(ge=0)]


# -- requests --------------------------------------------------------------------


class PredictBody(msgspec.Struct):
    """A drawing as a data URL (JSON)."""

    image: Annotated[
        str,
        msgspec.Meta(
            description="a string: the data URL of a PNG, JPEG or WebP picture of a digit, as "
            "canvas.toDataURL() gives ('data:image/png;base64,...')",
            extra_json_schema={"pattern": DATA_URL_PATTERN},
        ),
    ]
    client_id: ClientId | None = None  # null is the same as leaving it out
    name: Name | None = None

    codes: ClassVar = {"image": "bad_image", "client_id": "bad_client_id", "name": "bad_name"}
    missing: ClassVar = {"image": "missing_image"}


class PredictUpload(msgspec.Struct):
    """A picture as a file (multipart/form-data, as `curl -F image=@digit.png` sends it)."""

    image: Annotated[
        bytes, msgspec.Meta(description="a PNG, JPEG or WebP file of a digit, in a file field named 'image'")
    ]
    client_id: ClientId | None = None
    name: Name | None = None

    codes: ClassVar = {"image": "bad_image", "client_id": "bad_client_id", "name": "bad_name"}
    missing: ClassVar = {"image": "missing_image"}


class InferenceBody(msgspec.Struct):
    """The reference repo's request: one 28x28 picture, white digit on black as in MNIST."""

    images: Annotated[
        list[Row],
        msgspec.Meta(min_length=28, max_length=28, description="28 rows of 28 numbers from 0 to 255"),
    ]

    codes: ClassVar = {"images": "bad_images"}
    missing: ClassVar = {"images": "missing_images"}


class CorrectionBody(msgspec.Struct):
    """A drawing and the digit it really is (POST /api/corrections)."""

    image: Annotated[
        str,
        msgspec.Meta(
            description="a string: the data URL of the picture that was answered wrong, as "
            "canvas.toDataURL() gives ('data:image/png;base64,...')",
            extra_json_schema={"pattern": DATA_URL_PATTERN},
        ),
    ]
    label: Annotated[int, msgspec.Meta(ge=0, le=9, description="the digit the drawing really is: 0-9")]
    request_id: (
        Annotated[
            str,
            msgspec.Meta(pattern=REQUEST_ID_PATTERN, description="the request_id of the answer it corrects"),
        ]
        | None
    ) = None

    codes: ClassVar = {"image": "bad_image", "label": "bad_label", "request_id": "bad_request_id"}
    missing: ClassVar = {"image": "missing_image", "label": "missing_label"}


class LabWorkBody(msgspec.Struct):
    """One lab workload: pure Python (holds the GIL), io (sleeps), or TensorFlow."""

    kind: Annotated[Literal[KINDS], msgspec.Meta(description="one of 'python', 'io' or 'tensorflow'")]
    ms: Annotated[
        float,
        msgspec.Meta(ge=0, description="a number of milliseconds from 0 to the server's LAB_MAX_MS"),
    ]
    client_id: ClientId | None = None

    codes: ClassVar = {"kind": "bad_kind", "ms": "bad_ms", "client_id": "bad_client_id"}
    missing: ClassVar = {}


class LabWorkersBody(msgspec.Struct):
    """Add or remove one worker process."""

    action: Annotated[Literal[ACTIONS], msgspec.Meta(description="'add' or 'remove'")]

    codes: ClassVar = {"action": "bad_action"}
    missing: ClassVar = {}


class RequestsQuery(msgspec.Struct):
    """/api/requests' query string."""

    since: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=REQUEST_ID_PATTERN,
                description="a request_id, the 'latest' of an earlier answer: only the requests "
                "after it (all kept requests if it is no longer kept)",
            ),
        ]
        | None
    ) = None
    client_id: ClientId | None = None
    limit: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=REQUESTS_MAX, description="a whole number from 1 to 1000: the most requests (the newest)"
        ),
    ] = REQUESTS_PAGE
    drawings: Annotated[
        bool,
        msgspec.Meta(
            description="true: each prediction's row carries its drawing (the class wall's thumbnails, "
            "up to 1,300 characters a row); false: drawing is null, and a poll stays small"
        ),
    ] = False

    codes: ClassVar = {
        "since": "bad_since",
        "client_id": "bad_client_id",
        "limit": "bad_limit",
        "drawings": "bad_drawings",
    }
    missing: ClassVar = {}


class PageQuery(msgspec.Struct):
    """The page's query string (read by teacher.keep_token_from_url: any text; a wrong token is ignored)."""

    token: (
        Annotated[
            str,
            msgspec.Meta(description="the teacher's token: kept in a cookie, then the page without it (303)"),
        ]
        | None
    ) = None


# -- answers ---------------------------------------------------------------------


class Worker(TypedDict):
    """Who answered: the host, process and thread."""

    host: Annotated[str, msgspec.Meta(description="HOST_NAME of the server that answered")]
    pid: int
    thread: str
    thread_id: NotRequired[int]
    started: NotRequired[Seconds]
    requests: NotRequired[Annotated[int, msgspec.Meta(description="this worker's answers so far")]]
    runtime: NotRequired[Literal[tuple(RUNTIMES)]]


class Timing(TypedDict):
    """Server clock, Unix epoch seconds: arrival, and around the model call (or the workload)."""

    received: Seconds
    started: Seconds
    finished: Seconds


class Prediction(TypedDict):
    """The digit, who answered, and when."""

    digit: Annotated[int, msgspec.Meta(ge=0, le=9)]
    confidence: Annotated[float, msgspec.Meta(ge=0, le=1)]
    probabilities: Annotated[list[float], msgspec.Meta(min_length=10, max_length=10)]
    request_id: str
    client_id: str | None
    worker: Worker
    timing: Timing
    batch_size: int
    batch_id: int
    model_input: Annotated[str, msgspec.Meta(description="the 28x28 image the model saw (PNG data URL)")]
    verdict: Annotated[
        Literal["digit", "unsure"],
        msgspec.Meta(description="'unsure' when the drawing is no readable digit (webapp/verdict.py)"),
    ]
    reason: NotRequired[Annotated[str, msgspec.Meta(description="unsure: why, in words for a person")]]
    reason_code: NotRequired[Literal["too_little_ink", "too_small", "not_a_digit", "which_digit"]]
    alternatives: NotRequired[
        Annotated[
            list[Annotated[int, msgspec.Meta(ge=0, le=9)]],
            msgspec.Meta(min_length=2, max_length=3, description="unsure: the likeliest digits, best first"),
        ]
    ]
    calibrated_confidence: Annotated[
        float, msgspec.Meta(ge=0, le=1, description="the confidence, temperature-scaled (calibration.json)")
    ]


class Correction(TypedDict):
    """Stored in the CORRECTIONS folder (or already there: the same drawing and label)."""

    stored: bool
    id: Annotated[str, msgspec.Meta(description="the stored files' name: content hash and label")]
    label: Annotated[int, msgspec.Meta(ge=0, le=9)]
    new: Annotated[bool, msgspec.Meta(description="false if the same correction was already stored")]


class TensorFlowPools(TypedDict):
    """tensorflow work only: the worker's TensorFlow pools, which decide whether two calls of one
    process overlap (TF_INTRA_OP, TF_INTER_OP; 0 = TensorFlow's default)."""

    intra_op: int
    inter_op: int


class LabWork(TypedDict):
    """Who ran a lab workload, when, and for how much CPU."""

    kind: str
    ms: float
    request_id: str
    worker: Worker
    timing: Timing
    cpu_seconds: Annotated[float, msgspec.Meta(description="the worker process's CPU time")]
    thread_cpu_seconds: Annotated[float, msgspec.Meta(description="the answering thread's CPU time")]
    batch_size: int | None
    tf_pools: NotRequired[TensorFlowPools]


class ScaleAnswer(TypedDict):
    """The master took the change."""

    action: str
    workers: Annotated[int, msgspec.Meta(description="live workers now")]
    target: Annotated[int, msgspec.Meta(description="the pool's size after the change")]
    master_pid: int
    host: Annotated[str, msgspec.Meta(description="the host whose pool changed (HOST_NAME)")]


class LogStatus(TypedDict):
    """Whether this worker stores answered requests in the log (a full disk, a shared store
    that is unavailable: predictions go on, their rows are dropped)."""

    ok: bool
    problem: Annotated[
        str | None, msgspec.Meta(description="why not, for a person (a full disk, a shared store down)")
    ]
    lost: Annotated[int, msgspec.Meta(description="rows dropped since it went wrong")]
    skipped: Annotated[
        int, msgspec.Meta(description="entries of the store that were not valid, skipped since the start")
    ]


class LoggedRequest(TypedDict):
    """One answered request in the log. Its fields after seq are the log's columns, in this order
    (webapp/requestlog.py: the SQLite table; webapp/redisstore.py: each row a JSON list)."""

    seq: Count
    request_id: RequestId
    client_id: ClientId | None
    route: Annotated[str, msgspec.Meta(max_length=100)]
    status: Annotated[int, msgspec.Meta(ge=100, le=599)]
    host: HostName
    pid: Pid
    thread: Annotated[str, msgspec.Meta(max_length=100)]
    thread_id: Count
    received: Seconds
    started: Seconds
    finished: Seconds
    digit: int | None
    confidence: float | None
    batch_size: Count | None
    batch_id: Count | None
    kind: Annotated[str, msgspec.Meta(max_length=20)] | None
    name: (
        Annotated[
            str, msgspec.Meta(max_length=24, description="predictions: the name the client gave, if any")
        ]
        | None
    )
    drawing: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=1300,
                description="predictions: the 28x28 picture the model saw, a PNG data URL (under "
                "1,300 characters; a drawing takes 200-600), for the class wall's thumbnails",
            ),
        ]
        | None
    )


class RequestsPage(TypedDict):
    """The newest requests after `since`, oldest first."""

    requests: list[LoggedRequest]
    latest: Annotated[
        str | None, msgspec.Meta(description="the newest request_id in the answer, else `since`")
    ]
    count: int
    more: Annotated[bool, msgspec.Meta(description="older requests after `since` were left out")]
    log: LogStatus


class LiveWorker(TypedDict):
    """One live worker process of this server (and, with a shared store, of every host)."""

    pid: Pid
    host: HostName
    started: Seconds
    requests: Count
    in_flight: Count
    busy: bool
    ready: bool
    last_request: Seconds | None
    cpu_seconds: float
    rss_bytes: int
    pss_bytes: int | None
    threads: int


class Preset(TypedDict):
    """A MODE preset (serving/config.py)."""

    workers: int
    threads: int
    greenlets: Annotated[int, msgspec.Meta(description="requests at once on one thread (gevent); 0: none")]
    about: str
    contrast: str
    can_add_workers: bool
    batches: bool


class Settings(TypedDict):
    """The server's concurrency settings and limits: the page copies none of them."""

    mode: Literal[tuple(MODES)]
    workers: int
    threads: int
    worker_class: str
    runtime: Literal[tuple(RUNTIMES)]
    bind: str
    host: str
    lab: bool
    corrections: Annotated[bool, msgspec.Meta(description="POST /api/corrections stores (CORRECTIONS set)")]
    teacher: Annotated[bool, msgspec.Meta(description="this request carries the teacher's token")]
    token_refused: Annotated[
        bool, msgspec.Meta(description="this request carries a token that is not this server's (a stale one)")
    ]
    teacher_address: NotRequired[
        Annotated[str, msgspec.Meta(description="the teacher's address with the token: to the teacher only")]
    ]
    lab_max_in_flight: Annotated[int, msgspec.Meta(description="lab workloads the server runs at once")]
    lab_max_per_client: Annotated[
        int, msgspec.Meta(description="lab workloads one client (not the teacher) runs at once")
    ]
    lab_max_ms: Annotated[int, msgspec.Meta(description="the longest lab workload")]
    lab_workers: Annotated[
        list[int], msgspec.Meta(description="the fewest and most workers the lab's buttons keep")
    ]
    can_add_workers: bool
    batches: bool
    contrast: Annotated[str, msgspec.Meta(description="the mode to compare with")]
    presets: dict[str, Preset]
    python: Annotated[str, msgspec.Meta(description="the version of Python the server runs on")]
    free_threaded: Annotated[bool, msgspec.Meta(description="Python's free-threaded build (FREE_THREADED=1)")]
    gil: Annotated[
        bool, msgspec.Meta(description="the answering worker runs with the GIL (always on the normal build)")
    ]
    gil_enabled_by: Annotated[
        str | None,
        msgspec.Meta(description="free-threaded build with the GIL on: the module whose import turned it on"),
    ]


class ModelInfo(TypedDict):
    """This worker's model."""

    runtime: Literal[tuple(RUNTIMES)]
    file: str
    sha256: str
    ready: bool
    load_seconds: float
    warm_up_seconds: float
    temperature: Annotated[float, msgspec.Meta(description="of the calibrated confidence (1: none)")]


class Workers(TypedDict):
    """The concurrency settings and every live worker process."""

    settings: Settings
    model: ModelInfo
    answered_by: int
    count: int
    workers: list[LiveWorker]
    machine: Machine
    log: Annotated[
        LogStatus,
        msgspec.Meta(description="whether the store answers (a shared store down: this host's workers only)"),
    ]


class Machine(TypedDict):
    """The machine under the server, measured by the worker that answered, over the time since
    its last reading: a claim about parallel work cannot show without spare cores."""

    cores: int
    spare: Annotated[
        float | None, msgspec.Meta(description="cores other work left free (null: not measured yet)")
    ]
    window_s: Annotated[float | None, msgspec.Meta(description="the seconds the reading covers")]


class Health(TypedDict):
    """The process is up."""

    status: Literal["ok"]
    pid: int


class Ready(TypedDict):
    """Whether this worker's model is loaded and warm."""

    ready: bool
    pid: int
    model: ModelInfo
    request_log: LogStatus
    metrics_shared: Annotated[
        bool,
        msgspec.Meta(
            description="false if this worker cannot write its metric files (a full disk): "
            "it answers, but is not in the worker list"
        ),
    ]


class ErrorDetail(TypedDict):
    code: str
    message: Annotated[str, msgspec.Meta(description="for a person")]
    worker: NotRequired[
        Annotated[int, msgspec.Meta(description="tensorflow_loading: the pid of the worker loading it")]
    ]


class Error(TypedDict):
    """Every error: a stable code and a message for a person."""

    error: ErrorDetail
