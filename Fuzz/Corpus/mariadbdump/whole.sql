-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `items`;
CREATE TABLE `items` (`id` int NOT NULL, `name` text) ENGINE=InnoDB;
INSERT INTO `items` VALUES (1,'it''s \' x'),(2,"q\"");
DELIMITER ;;
CREATE FUNCTION `doubled`(x INT) RETURNS int
BEGIN RETURN x * 2; END ;;
DELIMITER ;
# comment
-- Dump completed on 2026-12-07  1:00:00
