"""Names alethiometer imports; never used."""
MNIST = CIFAR10 = CIFAR100 = SVHN = None
