"""One Streamlit session without a browser: the app's own websocket protocol, as the browser speaks it.

The browser opens `ws://HOST/_stcore/stream` with the subprotocol `streamlit`, sends a `BackMsg`
whose `rerun_script` (`ClientState`) carries the query string, the page and the widget states, and
receives `ForwardMsg`s: `new_session` when a run starts, one `delta` per element drawn,
`script_finished` when it ends. A widget inside an `st.fragment` carries that fragment's id in its
delta; changing it reruns only the fragment (the browser sends the id along), which finishes with
`FINISHED_FRAGMENT_RUN_SUCCESSFULLY`. This module does the same for one session, and reads what
was drawn that matters to a load test: the exceptions and error boxes, the metrics, the sliders.

Only the `websockets` package Streamlit itself depends on, and Streamlit's generated protobuf classes.
"""

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class SessionBroken(Exception):
    """The session cannot go on: the socket closed, or a run did not finish in time."""


@dataclass
class Widget:
    id: str
    fragment_id: str  # "" when the widget is not inside a fragment
    value: list[float]


@dataclass
class Run:
    """What one script run (a page open or a widget change) drew, and how long it took."""

    seconds: float = 0.0
    fragment: bool = False
    messages: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)


class Session:
    """One user's session on one page. Use as `async with Session(...) as s: await s.open()`."""

    def __init__(self, base_url: str, query_string: str, page_name: str, timeout: float = 120.0):
        self.stream_url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.query_string, self.page_name, self.timeout = query_string, page_name, timeout
        self.page_script_hash = ""
        self.widgets: dict[str, Widget] = {}  # by label
        self.socket = None

    async def __aenter__(self) -> "Session":
        # No keepalive pings of our own (a browser sends none); the server's pings are answered.
        self.socket = await websockets.connect(self.stream_url, subprotocols=["streamlit"], max_size=None,
                                               ping_interval=None, open_timeout=self.timeout)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def open(self) -> Run:
        """The first run, as when the browser loads `/<page>?<query>`."""
        msg = BackMsg()
        msg.rerun_script.query_string = self.query_string
        msg.rerun_script.page_name = self.page_name
        return await self._run(msg)

    async def set_sliders(self, values: dict[str, float]) -> Run:
        """Move sliders (by label) to new values, as a user does; reruns their fragment if they sit in one."""
        fragments = {self.widgets[label].fragment_id for label in values}
        if len(fragments) != 1:
            raise ValueError(f"the sliders {sorted(values)} are not all in the same fragment")
        for label, value in values.items():
            self.widgets[label].value = [float(value)]
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        state.fragment_id = fragments.pop()
        # Like the browser: the state of every slider it has drawn, changed or not.
        for widget in self.widgets.values():
            entry = state.widget_states.widgets.add()
            entry.id = widget.id
            entry.double_array_value.data.extend(widget.value)
        return await self._run(msg)

    async def _run(self, msg: BackMsg) -> Run:
        run = Run(fragment=bool(msg.rerun_script.fragment_id))
        started = time.monotonic()
        try:
            await self.socket.send(msg.SerializeToString())
            began = False
            while True:
                left = self.timeout - (time.monotonic() - started)
                if left <= 0:
                    raise TimeoutError
                data = await asyncio.wait_for(self.socket.recv(), left)
                reply = ForwardMsg()
                reply.ParseFromString(data)
                run.messages += 1
                run.bytes += len(data)
                kind = reply.WhichOneof("type")
                if kind == "new_session":
                    began = True
                    self.page_script_hash = reply.new_session.page_script_hash
                elif kind == "delta" and began:
                    self._read_delta(reply.delta, run)
                elif kind == "session_event" and reply.session_event.HasField("script_compilation_exception"):
                    run.errors.append(f"compile error: {reply.session_event.script_compilation_exception.message}")
                elif kind == "page_not_found":
                    run.errors.append(f"page not found: {self.page_name}")
                elif kind == "script_finished" and began:
                    if reply.script_finished not in FINISHED_OK:
                        name = ForwardMsg.ScriptFinishedStatus.Name(reply.script_finished)
                        run.errors.append(f"script finished with {name}")
                    run.seconds = time.monotonic() - started
                    return run
        except TimeoutError as err:
            raise SessionBroken(f"no script_finished within {self.timeout:.0f} s") from err
        except websockets.ConnectionClosed as err:
            raise SessionBroken(f"disconnected ({err})") from err

    def _read_delta(self, delta, run: Run) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.errors.append(f"exception {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            run.errors.append(f"error box: {element.alert.body[:200]}")
        elif kind == "metric":
            run.metrics[element.metric.label] = element.metric.body
        elif kind == "slider":
            slider = element.slider
            known = self.widgets.get(slider.label)
            value = list(slider.value) if slider.set_value else list(slider.default)
            self.widgets[slider.label] = Widget(slider.id, delta.fragment_id, known.value if known else value)
