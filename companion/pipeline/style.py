"""One plotting style for every figure: a seaborn theme with a colour-blind safe palette."""
import seaborn as sns

PALETTE_NAME = "colorblind"


def apply_style():
    """Set the companion's seaborn theme (whitegrid, colour-blind palette, readable sizes) for all later figures."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE_NAME,
        rc={
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "legend.frameon": False,
            "pdf.fonttype": 42,
        },
    )


def palette(n_colors=10):
    """The colour-blind safe palette as a list of ``n_colors`` RGB tuples (it cycles past 10)."""
    return sns.color_palette(PALETTE_NAME, n_colors=n_colors)
