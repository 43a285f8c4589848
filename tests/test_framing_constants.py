"""The page frames a drawing with preprocess's own constants: capsnet.preprocessing.framing_constants(), which the
manifest (demo/server/assets.py, tests/test_assets.py) hands to frame.js. Whether frame.js frames as preprocess does is checked by
`node --test tests/js/*.test.mjs` on fixtures tests/js/frame_fixtures.py writes (tests/run.sh runs both)."""

import json

from capsnet import preprocessing
from capsnet.preprocessing import framing_constants


def as_json(value):
    return json.loads(json.dumps(value))


def test_each_framing_constant_is_the_preprocessing_constant_of_its_name():
    for name, value in framing_constants().items():
        assert value == as_json(getattr(preprocessing, name)), name
