"""trainer.per_model gives one model its own recipe; the others keep the block's."""

from omegaconf import OmegaConf

from colorgen.training.loop import with_model_recipe


def _cfg(name: str):
    return OmegaConf.create({"model": {"name": name},
                             "trainer": {"max_steps": 300, "schedule": "cosine", "lr": 1e-3,
                                         "per_model": {"cvae": {"max_steps": 1500, "schedule": "constant"}}}})


def test_the_named_model_gets_its_recipe():
    tr = with_model_recipe(_cfg("cvae")).trainer
    assert (tr.max_steps, tr.schedule, tr.lr) == (1500, "constant", 1e-3)
    assert "per_model" not in tr


def test_other_models_keep_the_block():
    cfg = _cfg("nar")
    tr = with_model_recipe(cfg).trainer
    assert (tr.max_steps, tr.schedule) == (300, "cosine") and "per_model" not in tr
    assert "per_model" in cfg.trainer  # the caller's config is not changed


def test_trainer_cpu_gives_nar_cvae_and_ar_their_long_recipes():
    from hydra import compose, initialize_config_dir

    from colorgen.ablate import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cvae = with_model_recipe(compose("train", overrides=["model=cvae", "trainer=cpu", "logger=none"]))
        nar = with_model_recipe(compose("train", overrides=["model=nar", "trainer=cpu", "logger=none"]))
        ar = with_model_recipe(compose("train", overrides=["model=ar", "trainer=cpu", "logger=none"]))
        ups = with_model_recipe(compose("train", overrides=["model=upsampler", "trainer=cpu", "logger=none"]))
    assert (cvae.trainer.max_steps, cvae.trainer.schedule, cvae.trainer.select_best) == (1500, "constant", "score")
    assert (nar.trainer.max_steps, nar.trainer.schedule, nar.trainer.select_best) == (1500, "cosine", "score")
    assert (ar.trainer.max_steps, ar.trainer.schedule, ar.trainer.select_best) == (1500, "constant", "score")
    assert (ups.trainer.max_steps, ups.trainer.schedule, ups.trainer.select_best) == (300, "cosine", "forward")
