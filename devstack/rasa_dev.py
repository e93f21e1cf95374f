"""`rasa`, for the designers' loop: the same command, with TensorFlow's one-example fits run eagerly.

Loading a model (and finetuning one) starts by fitting DIET and TED on one example, only to
create their weights before the trained ones are read in (RasaModel.load, and
TransformerRasaModel._compile_and_fit when finetuning). Rasa compiles that fit into a TensorFlow
graph first: tracing it is most of the 30 s a model takes to load on 2 cores, and finetuning
traces it twice more. Run eagerly, the one step costs a fraction of a second; the model is then
compiled again as config.yml says (run_eagerly false), so training and predictions run as graphs
exactly as with plain `rasa`, and the weights are the same: they are read from the model file.

`make chat` (devstack.chat) and the quick finetuning (devstack.model) run Rasa through this module;
`make test` and production use plain `rasa`.

    .venv-rasa/bin/python -m devstack.rasa_dev <rasa arguments>
"""

from __future__ import annotations

import sys
from typing import Any


def install() -> None:
    import tensorflow as tf
    from rasa.utils.tensorflow import models
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY

    def load(cls: Any, model_file_name: str, model_data_example: Any, predict_data_example: Any = None,
             finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        model = cls(*args, **kwargs)
        config = kwargs.get("config", {})
        _fit_one_example_eagerly(model, model_data_example, config.get(LEARNING_RATE, 0.001), config.get(RUN_EAGERLY))
        model.load_weights(model_file_name)
        if not finetune_mode and predict_data_example:
            model.run_inference(predict_data_example)  # traces the prediction graph once, as Rasa does
        return model

    def compile_and_fit(self: Any, data_example: Any) -> None:
        label_key = models.LABEL_KEY if self.config[models.INTENT_CLASSIFICATION] else None
        label_sub_key = models.LABEL_SUB_KEY if self.config[models.INTENT_CLASSIFICATION] else None
        model_data = models.RasaModelData(label_key=label_key, label_sub_key=label_sub_key, data=data_example)
        self._update_data_signatures(model_data)
        _fit_one_example_eagerly(self, model_data, self.config[LEARNING_RATE], self.config[RUN_EAGERLY])

    def _fit_one_example_eagerly(model: Any, data: Any, learning_rate: float, run_eagerly: Any) -> None:
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=True)
        model.fit(models.RasaBatchDataGenerator(data, batch_size=1), verbose=False)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), run_eagerly=run_eagerly)

    models.RasaModel.load = classmethod(load)
    models.TransformerRasaModel._compile_and_fit = compile_and_fit


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
