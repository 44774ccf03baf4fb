"""KServe 0.21 ModelServer with the minimal custom ONNX model its docs show.

Started by bench/serving/peers.ts: python kserve_peer.py --http_port N --grpc_port M
(KServe parses its own flags); the model path comes from SISKIN_BENCH_MODEL.
"""
import os
import uuid

import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.utils.numpy_codec import from_np_dtype


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        # Same thread settings as the Siskin worker: one intra-op thread, no spinning.
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(self.path, so, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        outputs = []
        for name, arr in zip(self.output_names, self.session.run(self.output_names, feeds)):
            out = InferOutput(name=name, shape=list(arr.shape), datatype=from_np_dtype(arr.dtype))
            out.set_data_from_numpy(arr, binary_data=False)
            outputs.append(out)
        # KServe's response model requires an id even when the request had none.
        return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name, infer_outputs=outputs)


if __name__ == "__main__":
    ModelServer().start([OnnxModel("bench", os.environ["SISKIN_BENCH_MODEL"])])
